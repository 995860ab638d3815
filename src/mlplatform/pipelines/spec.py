"""The versioned YAML pipeline spec.

One file describes one pipeline: where the data comes from and what it must look like, the
target and features, how to split, which estimator and search space, how to evaluate and when a
model may become champion, and what each task needs. Unknown keys are rejected with the nearest
valid key; every error names the file, line and field.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlplatform.data.appsflyer.columns import FEATURE_TABLE_COLUMNS, label_columns
from mlplatform.errors import SpecError
from mlplatform.pipelines.estimators import (
    accepts_extra_params,
    estimator_param_names,
    resolve_estimator,
    resolve_path,
)
from mlplatform.yamlsafe import LoadedYaml, load_yaml_file, load_yaml_text

SPEC_VERSION = 1
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

ClassificationMetric = Literal[
    "roc_auc", "pr_auc", "log_loss", "accuracy", "f1", "precision", "recall", "brier"
]
DEFAULT_METRICS: tuple[ClassificationMetric, ...] = ("roc_auc", "pr_auc", "log_loss", "accuracy")
# Metrics where a smaller value is better; the gate and tuning account for the direction.
LOWER_IS_BETTER = {"log_loss", "brier"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# --- data ------------------------------------------------------------------------------------


class _InstallTableOptions(_Strict):
    """Label horizons of the install-level table built from AppsFlyer data."""

    purchase_label_days: list[int] = Field(
        default_factory=lambda: [7],
        min_length=1,
        description="Make `purchased_d<N>` (purchase within N days of install) for each N.",
    )
    revenue_label_days: list[int] = Field(
        default_factory=lambda: [30],
        min_length=1,
        description="Make `revenue_d<N>_usd` (purchase revenue within N days) for each N.",
    )

    @field_validator("purchase_label_days", "revenue_label_days")
    @classmethod
    def _horizons(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 90 for d in value):
            raise ValueError("label horizons are whole days from 1 to 90")
        return sorted(set(value))

    def label_columns(self) -> dict[str, str]:
        return label_columns(tuple(self.purchase_label_days), tuple(self.revenue_label_days))


class SyntheticSource(_InstallTableOptions):
    """The seeded AppsFlyer generator: every example spec runs on a fresh clone."""

    kind: Literal["synthetic"] = Field(description="Generate AppsFlyer Pull API CSVs first.")
    installs: int = Field(50_000, ge=200, le=20_000_000, description="Installs to generate.")
    seed: int = Field(7, description="Random seed; the same seed gives the same files.")
    days: int = Field(30, ge=1, le=90, description="Install window length in days.")
    app_id: str = Field("id1234567890", description="App id written into the rows.")
    malformed_fraction: float = Field(
        0.0, ge=0.0, le=0.5, description="Share of rows deliberately broken, to see quarantine."
    )


class AppsFlyerSource(_InstallTableOptions):
    """Pull API / Data Locker raw files, built into one install-level table."""

    kind: Literal["appsflyer"] = Field(description="Raw AppsFlyer installs + in-app events.")
    installs: list[str] = Field(
        min_length=1,
        description="Installs report files: paths, globs or s3:// URIs (organic ones too).",
    )
    in_app_events: list[str] = Field(
        min_length=1, description="In-app events report files: paths, globs or s3:// URIs."
    )

    @field_validator("installs", "in_app_events", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class TableSource(_Strict):
    """A ready table: one row per example."""

    kind: Literal["table"] = Field(description="A feature table that is used as is.")
    path: str = Field(description="Local path, glob (`data/*.parquet`) or s3:// URI.")
    format: Literal["auto", "csv", "csv.gz", "parquet", "jsonl"] = Field(
        "auto", description="File format; `auto` goes by the file extension."
    )


DataSource = Annotated[SyntheticSource | AppsFlyerSource | TableSource, Field(discriminator="kind")]


class ColumnSchema(_Strict):
    """What one column must look like; rows that break it are quarantined."""

    type: Literal["string", "int", "float", "bool", "datetime"] = Field(
        description="Type values are coerced to; uncoercible values reject the row."
    )
    nullable: bool = Field(True, description="Whether empty values are allowed.")
    min: float | None = Field(None, description="Smallest allowed value (numbers).")
    max: float | None = Field(None, description="Largest allowed value (numbers).")
    allowed: list[str | int | float | bool] | None = Field(
        None, description="The only values allowed."
    )
    regex: str | None = Field(None, description="Full-match pattern for strings.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _range_order(self) -> ColumnSchema:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DataSpec(_Strict):
    source: DataSource = Field(description="Where the rows come from.")
    schema_: dict[str, ColumnSchema] = Field(
        default_factory=dict,
        alias="schema",
        description="Per-column checks applied in the validate step.",
    )
    max_rejected_fraction: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Fail the run when more than this share of rows is quarantined.",
    )


# --- modelling -------------------------------------------------------------------------------


class TargetSpec(_Strict):
    column: str = Field(description="Label column.")
    positive: str | int | bool | None = Field(
        None, description="The positive class (binary); default: the larger label value."
    )


class FeaturesSpec(_Strict):
    numeric: list[str] = Field(default_factory=list, description="Numeric feature columns.")
    categorical: list[str] = Field(default_factory=list, description="Categorical columns.")
    text: list[str] = Field(default_factory=list, description="Free-text columns (TF-IDF).")
    drop: list[str] = Field(default_factory=list, description="Columns never used as features.")

    @model_validator(mode="after")
    def _disjoint(self) -> FeaturesSpec:
        used = self.numeric + self.categorical + self.text
        if not used:
            raise ValueError("no features: list at least one numeric, categorical or text column")
        dupes = sorted({c for c in used + self.drop if (used + self.drop).count(c) > 1})
        if dupes:
            raise ValueError(f"column(s) {dupes} listed in more than one feature group")
        return self

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical + self.text


class SplitSpec(_Strict):
    strategy: Literal["random", "stratified", "time"] = Field(
        "stratified", description="random, stratified by target, or time-based (latest = test)."
    )
    test_size: float = Field(0.2, gt=0.0, lt=0.9, description="Holdout share.")
    time_column: str | None = Field(None, description="Column ordering rows for `time`.")
    seed: int = Field(42, description="Random seed for the split and CV folds.")

    @model_validator(mode="after")
    def _time_needs_column(self) -> SplitSpec:
        if self.strategy == "time" and not self.time_column:
            raise ValueError("strategy 'time' needs time_column: the column that orders rows")
        return self


class ModelSpec(_Strict):
    estimator: str = Field(
        description="Alias (hist_gradient_boosting, random_forest, ...) or dotted class path."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Constructor parameters, before tuning overrides."
    )

    @model_validator(mode="after")
    def _estimator_exists(self, info: ValidationInfo) -> ModelSpec:
        if not _trusted(info):
            _check_params(resolve_estimator(self.estimator), self.params, "params")
        return self

    @property
    def estimator_path(self) -> str:
        return resolve_path(self.estimator)


class RangeSpec(_Strict):
    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound.")
    log: bool = Field(False, description="Sample on a log scale.")
    integer: bool = Field(False, description="Round samples to integers.")

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class TuningSpec(_Strict):
    strategy: Literal["grid", "random"] = Field(
        "random", description="grid: every combination (capped); random: samples the space."
    )
    space: dict[str, list[Any] | RangeSpec] = Field(
        description="Parameter -> list of values, or {low, high, log, integer} for random."
    )
    n_candidates: int = Field(8, ge=1, le=100, description="Candidates to score (max 100).")
    cv_folds: int = Field(3, ge=2, le=10, description="Cross-validation folds per candidate.")
    metric: ClassificationMetric = Field("roc_auc", description="Score used to pick the best.")
    max_rows: int | None = Field(
        200_000,
        ge=1000,
        description="Cross-validate on at most this many training rows (stratified sample); "
        "the final model trains on all of them. null: use every row.",
    )

    @model_validator(mode="after")
    def _non_empty(self) -> TuningSpec:
        if not self.space:
            raise ValueError(
                "the search space is empty: add parameters to tuning.space, or remove tuning "
                "to train model.params as is"
            )
        for name, values in self.space.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"tuning.space.{name} has no values")
            if self.strategy == "grid" and isinstance(values, RangeSpec):
                raise ValueError(f"grid search needs a list of values for '{name}', not a range")
        return self


class EvaluationSpec(_Strict):
    metrics: list[ClassificationMetric] = Field(
        default_factory=lambda: list(DEFAULT_METRICS),
        min_length=1,
        description="Holdout metrics to compute and record.",
    )
    gate: str | None = Field(
        None, description="Promotion gate such as `roc_auc >= 0.70`; pass = champion tag."
    )
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="Decision threshold.")

    @field_validator("gate")
    @classmethod
    def _gate_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_gate(value)
        return value


class ResourcesSpec(_Strict):
    cpu: int = Field(1, ge=1, le=96, description="vCPUs per task (@resources).")
    memory: int = Field(4096, ge=256, le=786_432, description="Memory per task in MB.")


class PipelineSpec(_Strict):
    version: Literal[1] = Field(description="Spec format version; currently 1.")
    task: Literal["classification", "regression", "nlp", "scoring"] = Field(
        description="Which template runs the spec."
    )
    project: str = Field(pattern=NAME_PATTERN, description="Project: Metaflow @project name.")
    name: str = Field(pattern=NAME_PATTERN, description="Pipeline name within the project.")
    description: str = Field("", description="What the pipeline is for.")
    data: DataSpec = Field(description="Data source and its checks.")
    target: TargetSpec = Field(description="What to predict.")
    features: FeaturesSpec = Field(description="Which columns feed the model.")
    split: SplitSpec = Field(default_factory=lambda: SplitSpec(), description="Holdout split.")
    model: ModelSpec = Field(description="Estimator and its base parameters.")
    tuning: TuningSpec | None = Field(None, description="Hyperparameter search; omit to skip.")
    evaluation: EvaluationSpec = Field(
        default_factory=lambda: EvaluationSpec(), description="Metrics and promotion gate."
    )
    resources: ResourcesSpec = Field(
        default_factory=lambda: ResourcesSpec(), description="Per-task resources."
    )

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> PipelineSpec:
        if self.task != "classification":
            raise ValueError(
                f"task '{self.task}' has no template in this version yet: use classification"
            )
        if self.target.column in self.features.columns:
            raise ValueError(f"target '{self.target.column}' is also listed as a feature")
        if self.tuning is not None and not _trusted(info):
            _check_params(resolve_estimator(self.model.estimator), self.tuning.space, "space")
        if isinstance(self.data.source, _InstallTableOptions):
            _check_known_columns(self, self.data.source)
        gate = self.evaluation.gate
        if gate and parse_gate(gate)[0] not in self.evaluation.metrics:
            raise ValueError(f"the gate metric in '{gate}' is not in evaluation.metrics")
        return self

    @property
    def pipeline_id(self) -> str:
        return f"{self.project}.{self.name}"

    def required_columns(self) -> list[str]:
        """Columns the ingested table must have."""
        cols = [self.target.column, *self.features.columns, *self.data.schema_.keys()]
        if self.split.time_column:
            cols.append(self.split.time_column)
        return list(dict.fromkeys(cols))

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form Metaflow stores as the `pipeline` Config."""
        return self.model_dump(mode="json", by_alias=True)


def _trusted(info: ValidationInfo) -> bool:
    """A spec already validated in full (a running flow's Config) skips the estimator import."""
    return bool(info.context and info.context.get("trusted"))


def _check_params(cls: type, params: dict[str, Any], where: str) -> None:
    valid = estimator_param_names(cls)
    # LightGBM and XGBoost pass unnamed keyword arguments on to their boosters (`verbose`,
    # `tree_method`): there only a near miss of a named parameter is surely a typo.
    open_ended = accepts_extra_params(cls)
    for key in params:
        if key not in valid:
            near = difflib.get_close_matches(key, valid, n=1)
            if open_ended and not near:
                continue
            tip = f"did you mean '{near[0]}'?" if near else f"valid: {', '.join(valid)}"
            raise ValueError(f"{where}: '{key}' is not a parameter of {cls.__name__}; {tip}")


def _check_known_columns(spec: PipelineSpec, source: _InstallTableOptions) -> None:
    known = set(FEATURE_TABLE_COLUMNS) | set(source.label_columns())
    for col in spec.required_columns():
        if col not in known:
            near = difflib.get_close_matches(col, sorted(known), n=1)
            tip = f"did you mean '{near[0]}'?" if near else "see docs for the feature table"
            raise ValueError(f"column '{col}' is not in the AppsFlyer install table; {tip}")


_GATE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*(-?[0-9]*\.?[0-9]+)\s*$")


def parse_gate(text: str) -> tuple[str, str, float]:
    match = _GATE.match(text)
    if not match:
        raise ValueError(f"gate '{text}' must look like 'roc_auc >= 0.70'")
    metric, op, value = match.group(1), match.group(2), float(match.group(3))
    if metric not in typing.get_args(ClassificationMetric):
        raise ValueError(f"gate metric '{metric}' is not a classification metric")
    return metric, op, value


def gate_passes(gate: str, metrics: dict[str, float]) -> bool:
    metric, op, bound = parse_gate(gate)
    value = metrics[metric]
    return {
        ">=": value >= bound,
        ">": value > bound,
        "<=": value <= bound,
        "<": value < bound,
    }[op]


# --- loading ---------------------------------------------------------------------------------


def load_spec(path: str | Path, overrides: list[str] | None = None) -> PipelineSpec:
    """Read, override (`key.path=value`) and validate a spec file."""
    loaded = load_yaml_file(Path(path))
    return _validate(loaded, overrides or [])


def parse_spec_text(text: str, source: str = "<pipeline config>") -> PipelineSpec:
    return _validate(load_yaml_text(text, source), [])


def parse_pipeline_config(text: str) -> dict[str, Any]:
    """Metaflow `Config(parser=...)` entry point: YAML text in, validated dict out."""
    return parse_spec_text(text).to_config()


def _validate(loaded: LoadedYaml, overrides: list[str]) -> PipelineSpec:
    data = loaded.data
    if not isinstance(data, dict):
        raise SpecError(f"{loaded.source}: a spec must be a YAML mapping", "see examples/pipelines")
    for item in overrides:
        apply_override(data, item)
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, loaded) from None


def apply_override(data: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--param '{item}' is not key=value", "e.g. --param tuning.n_candidates=4")
    value = load_yaml_text(raw, f"--param {key}").data
    node: Any = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        if not isinstance(node, dict):
            raise SpecError(f"--param {key}: '{part}' is not a section", "check the key path")
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise SpecError(f"--param {key}: parent is not a section", "check the key path")
    node[parts[-1]] = value


def _spec_error(exc: ValidationError, loaded: LoadedYaml) -> SpecError:
    errors = exc.errors()
    first = errors[0]
    loc = [p for p in first["loc"] if not str(p).startswith("function-after")]
    field = ".".join(str(p) for p in loc) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    hint = "see the spec reference in README.md"
    if first["type"] == "extra_forbidden":
        valid = allowed_keys(PipelineSpec, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        message = f"unknown key '{loc[-1]}'"
        hint = f"did you mean '{near[0]}'?" if near else f"valid keys: {', '.join(valid)}"
    elif first["type"] == "missing":
        message = "required field is missing"
        hint = f"add '{loc[-1]}'"
    elif first["type"] == "union_tag_invalid":
        hint = "set kind to synthetic, appsflyer or table"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return SpecError(f"{loaded.where(loc)}: {field}: {message}{more}", hint)


def allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """Valid keys of the model found by walking `loc` from `model` (for suggestions)."""
    current: Any = model
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or name for name, f in current.model_fields.items())
    return []


def _step_into(annotation: Any, part: Any) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return _unwrap(field.annotation)
        return None
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for variant in typing.get_args(annotation):
            variant = _unwrap(variant)
            if isinstance(variant, type) and issubclass(variant, BaseModel):
                kind = variant.model_fields.get("kind")
                if kind is not None and part in typing.get_args(kind.annotation):
                    return variant
        return None
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin is list:
        return typing.get_args(annotation)[0]
    return None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation
