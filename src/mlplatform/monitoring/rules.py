"""Alert rules: the YAML model, the brief's defaults, and a loader with `file:line` errors.

A rules file is `version: 1` and a list of rules. Each rule has a `kind` that decides what it
watches and which parameters it takes, a `severity`, a `for` (how long the condition must hold
before the first alert), a `cooldown` (the least time between two triggers of one dedup key)
and a `dedup_key` template naming the incident. `DEFAULT_RULES` are the brief's rules;
`rules.example.yaml` beside this module spells them out, ready to copy and edit."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from mlplatform.errors import PlatformError
from mlplatform.monitoring.records import RunRecord, Severity
from mlplatform.settings import Settings, get_settings
from mlplatform.yamlsafe import load_yaml_file

EXAMPLE_RULES_FILE = Path(__file__).with_name("rules.example.yaml")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(value: object) -> timedelta:
    """`30s`, `10m`, `24h`, `7d` or a sum such as `1h30m`, as a timedelta."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or not value:
        raise ValueError(f"{value!r} is not a duration; write e.g. 0s, 10m, 24h, 7d or 1h30m")
    seconds = sum(int(n or 0) * unit for n, (_, unit) in zip(match.groups(), _UNITS, strict=True))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`: 86400 s -> `1d`, 5400 s -> `1h30m`, 0 -> `0s`."""
    rest, parts = int(value.total_seconds()), []
    for suffix, unit in _UNITS:
        if rest >= unit:
            parts.append(f"{rest // unit}{suffix}")
            rest %= unit
    return "".join(parts) or "0s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Endpoint = Literal["metadata_service", "metadata_database"]


class _Rule(BaseModel):
    """What every rule has; subclasses add the parameters of one `kind`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    placeholders: ClassVar[frozenset[str]] = frozenset({"rule", "kind"})
    default_dedup_key: ClassVar[str] = "{kind}"

    kind: str = Field(description="What the rule watches; decides its other parameters.")
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{0,63}$",
        description="Unique rule name, shown in alerts: lowercase letters, digits, - and _.",
    )
    severity: Severity = Field("warning", description="info | warning | critical.")
    for_: Duration = Field(
        timedelta(0),
        alias="for",
        description="How long the condition must hold, on every check, before the first alert.",
    )
    cooldown: Duration = Field(
        timedelta(hours=1),
        le=timedelta(days=7),
        description="Least time between two triggers of one dedup key (counted from the "
        "earlier trigger); a condition that returns sooner waits, then alerts if still true.",
    )
    dedup_key: str = Field(
        min_length=1,
        description="Template naming the incident, e.g. 'latest_run_failed:{pipeline}'; "
        "conditions with one key are one incident. Unset: the kind's default.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("dedup_key") is None:
            return {**data, "dedup_key": cls.default_dedup_key}
        return data

    @model_validator(mode="after")
    def _known_placeholders(self) -> _Rule:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.dedup_key) if f is not None]
        except ValueError as exc:
            raise ValueError(f"dedup_key {self.dedup_key!r}: {exc}") from None
        unknown = sorted(set(fields) - self.placeholders)
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in sorted(self.placeholders))
            raise ValueError(
                f"dedup_key uses {', '.join('{' + u + '}' for u in unknown)}; "
                f"a {self.kind} rule knows {allowed}"
            )
        return self

    def key(self, **values: str) -> str:
        """The dedup key for one scope, e.g. `key(pipeline="ads.Train", flow="Train")`."""
        return self.dedup_key.format(rule=self.name, kind=self.kind, **values)


class _RunRule(_Rule):
    """A rule over run records, optionally limited to some pipelines."""

    placeholders: ClassVar[frozenset[str]] = _Rule.placeholders | {"pipeline", "flow", "project"}

    pipelines: list[str] | None = Field(
        None,
        min_length=1,
        description="Pipeline ids (project.Flow) or flow names this rule watches; shell "
        "patterns such as 'ads.*' allowed. Unset: every pipeline.",
    )

    def watches(self, run: RunRecord) -> bool:
        if self.pipelines is None:
            return True
        names = (run.pipeline_id, run.flow)
        return any(fnmatchcase(name, p) for p in self.pipelines for name in names)


class LatestRunFailedRule(_RunRule):
    """Fires while a pipeline's newest finished run failed; clears on its next completed run."""

    default_dedup_key: ClassVar[str] = "latest_run_failed:{pipeline}"

    kind: Literal["latest_run_failed"]
    severity: Severity = Field("critical", description="info | warning | critical.")


class SuccessRateBelowRule(_RunRule):
    """Fires while the share of completed runs among finished runs in `window` is too low."""

    default_dedup_key: ClassVar[str] = "success_rate_below:{pipeline}"

    kind: Literal["success_rate_below"]
    threshold: float = Field(0.95, gt=0, le=1, description="Fraction: 0.95 means 95 %.")
    window: Duration = Field(timedelta(hours=24), description="Runs started this recently.")
    min_runs: int = Field(5, ge=1, description="Fewer finished runs than this: no judgement.")
    per_pipeline: bool = Field(True, description="One condition per pipeline.")
    overall: bool = Field(True, description="One condition over all watched runs ({pipeline}=*).")

    @model_validator(mode="after")
    def _some_scope(self) -> SuccessRateBelowRule:
        if not (self.per_pipeline or self.overall):
            raise ValueError("per_pipeline and overall are both false; set one of them to true")
        return self


class BatchQueueAboveRule(_Rule):
    """Fires while the AWS Batch job queue holds more RUNNABLE jobs than `threshold`."""

    default_dedup_key: ClassVar[str] = "batch_queue_above"

    kind: Literal["batch_queue_above"]
    threshold: int = Field(50, ge=0, description="Runnable jobs the queue may hold.")


class EndpointUnreachableRule(_Rule):
    """Fires per endpoint while the metadata service or its database does not answer."""

    placeholders: ClassVar[frozenset[str]] = _Rule.placeholders | {"endpoint"}
    default_dedup_key: ClassVar[str] = "endpoint_unreachable:{endpoint}"

    kind: Literal["endpoint_unreachable"]
    severity: Severity = Field("critical", description="info | warning | critical.")
    endpoints: list[Endpoint] = Field(
        ["metadata_service", "metadata_database"],
        min_length=1,
        description="metadata_service and/or metadata_database.",
    )


class RunLongerThanP95Rule(_RunRule):
    """Fires while a running run is older than `multiplier` x its pipeline's p95 duration."""

    default_dedup_key: ClassVar[str] = "run_longer_than_p95:{pipeline}"

    placeholders: ClassVar[frozenset[str]] = _RunRule.placeholders | {"run_id"}

    kind: Literal["run_longer_than_p95"]
    multiplier: float = Field(2.0, ge=1, description="Times the p95 a run may take.")
    min_runs: int = Field(5, ge=1, description="Finished runs needed before p95 is trusted.")
    history: Duration = Field(timedelta(days=7), description="Finished runs this recent count.")


class DailyCostAboveRule(_Rule):
    """Fires while today's (UTC) estimated compute cost is over the budget."""

    default_dedup_key: ClassVar[str] = "daily_cost_above"

    placeholders: ClassVar[frozenset[str]] = _Rule.placeholders | {"date"}

    kind: Literal["daily_cost_above"]
    budget: float | None = Field(
        None, ge=0, description="USD per day; unset: monitoring.daily_budget (unset: no alert)."
    )


AlertRule = Annotated[
    LatestRunFailedRule
    | SuccessRateBelowRule
    | BatchQueueAboveRule
    | EndpointUnreachableRule
    | RunLongerThanP95Rule
    | DailyCostAboveRule,
    Field(discriminator="kind"),
]
KINDS = frozenset(
    {"latest_run_failed", "success_rate_below", "batch_queue_above"}
    | {"endpoint_unreachable", "run_longer_than_p95", "daily_cost_above"}
)


class RulesFile(BaseModel):
    """A rules file: `version: 1` and `rules: [...]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(description="Rules format version; 1.")
    rules: list[AlertRule] = Field(description="The alert rules; an empty list alerts on nothing.")

    @model_validator(mode="after")
    def _unique_names(self) -> RulesFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice; names must be unique")
            seen.add(rule.name)
        return self


_DEFAULTS = [
    {"name": "pipeline-failed", "kind": "latest_run_failed", "cooldown": "15m"},
    {"name": "success-rate", "kind": "success_rate_below", "cooldown": "6h"},
    {"name": "batch-queue", "kind": "batch_queue_above", "for": "10m"},
    {"name": "metadata-unreachable", "kind": "endpoint_unreachable", "for": "2m"},
    {"name": "run-too-long", "kind": "run_longer_than_p95"},
    {"name": "daily-cost", "kind": "daily_cost_above", "cooldown": "6h"},
]
DEFAULT_RULES: tuple[AlertRule, ...] = tuple(
    RulesFile.model_validate({"version": 1, "rules": _DEFAULTS}).rules
)


def load_rules(path: Path) -> list[AlertRule]:
    """Read a rules file; a mistake is one `PlatformError` naming `file:line: field`."""
    loaded = load_yaml_file(path)
    try:
        return list(RulesFile.model_validate(loaded.data).rules)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _yaml_loc(first["loc"], first["type"])
        field_path = ".".join(str(p) for p in loc) or "rules file"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "union_tag_not_found":
            message = f"missing; one of {', '.join(sorted(KINDS))}"
        raise PlatformError(
            f"{loaded.where(loc)}: {field_path}: {message}",
            f"fix that rule; {EXAMPLE_RULES_FILE} shows the format and the defaults",
        ) from None


def _yaml_loc(loc: tuple[Any, ...], error_type: str) -> list[str | int]:
    """Pydantic's error location as a key path in the YAML (no union tags; `kind` named)."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and part in KINDS and path and isinstance(path[-1], int):
            continue  # the discriminated union's tag, not a key of the document
        path.append(part)
    if error_type in ("union_tag_invalid", "union_tag_not_found"):
        path.append("kind")
    return path


def configured_rules(settings: Settings | None = None) -> list[AlertRule]:
    """`alerts.rules_file` when set, else `DEFAULT_RULES`."""
    rules_file = (settings or get_settings()).alerts.rules_file
    return load_rules(Path(rules_file).expanduser()) if rules_file else list(DEFAULT_RULES)


def lookback(rules: list[AlertRule]) -> timedelta:
    """How far back run records must reach for these rules (at least one day)."""
    spans = [timedelta(days=1)]
    for rule in rules:
        if isinstance(rule, SuccessRateBelowRule):
            spans.append(rule.window)
        elif isinstance(rule, RunLongerThanP95Rule):
            spans.append(rule.history)
    return max(spans)
