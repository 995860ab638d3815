"""Rule evaluation: what the platform looks like now in, per rule its conditions out.

Pure: no clock, no I/O. An `Observation` is one check's facts (run records, the optional
metrics report, the Batch queue depth, which endpoints did not answer, today's cost). For each
rule `evaluate` returns a `RuleResult`: one `Condition` per scope (pipeline, endpoint, ...),
firing or not, keyed by the rule's dedup key. `rule_state.RuleState.step` turns those into
trigger and resolve alerts. Run rules read the records, so their windows are exact; the report
only backs what records lack (queue depth, today's cost) when the observation leaves it unset.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlplatform.errors import PlatformError
from mlplatform.monitoring.metrics import Report
from mlplatform.monitoring.records import RunRecord
from mlplatform.monitoring.rules import (
    AlertRule,
    BatchQueueAboveRule,
    DailyCostAboveRule,
    EndpointUnreachableRule,
    LatestRunFailedRule,
    RunLongerThanP95Rule,
    SuccessRateBelowRule,
    format_duration,
)

ENDPOINT_LABELS = {
    "metadata_service": "Metaflow metadata service",
    "metadata_database": "metadata database (PostgreSQL)",
}
ALL_PIPELINES = "*"


@dataclass(frozen=True)
class Observation:
    """One check's facts. `None` means "not measured": rules on it produce no condition."""

    now: datetime
    records: Sequence[RunRecord]
    report: Report | None = None
    batch_queue_depth: int | None = None  # unset: the report's, if any
    unreachable: dict[str, str] = field(default_factory=dict)  # endpoint -> error
    daily_cost: float | None = None  # USD today (UTC); unset: the report's by_day entry
    link_template: str | None = None  # e.g. https://ui/{flow}/{run_id} (alerts.run_link_template)
    checked_endpoints: frozenset[str] | None = None  # unset: every endpoint a rule names


@dataclass(frozen=True)
class Condition:
    """One scope of one rule: does it fire, and what an alert about it says."""

    dedup_key: str
    firing: bool
    summary: str
    details: dict[str, str] = field(default_factory=dict)
    link: str | None = None


@dataclass(frozen=True)
class RuleResult:
    """A rule's conditions. `complete`: they cover every scope, so an open incident of this
    rule whose key is missing has cleared; otherwise a missing key means "no news"."""

    rule: AlertRule
    conditions: tuple[Condition, ...]
    complete: bool


def evaluate(
    rules: Iterable[AlertRule], observation: Observation, *, daily_budget: float | None = None
) -> list[RuleResult]:
    """Every rule's conditions; `daily_budget` (monitoring.daily_budget) backs unset budgets."""
    return [_evaluate(rule, observation, daily_budget) for rule in rules]


def _evaluate(rule: AlertRule, obs: Observation, daily_budget: float | None) -> RuleResult:
    if isinstance(rule, LatestRunFailedRule):
        return _result(rule, _latest_run_failed(rule, obs), complete=False)
    if isinstance(rule, SuccessRateBelowRule):
        return _result(rule, _success_rate(rule, obs), complete=True)
    if isinstance(rule, RunLongerThanP95Rule):
        return _result(rule, _run_longer(rule, obs), complete=True)
    if isinstance(rule, BatchQueueAboveRule):
        return _result(rule, _batch_queue(rule, obs), complete=False)
    if isinstance(rule, EndpointUnreachableRule):
        return _result(rule, _unreachable(rule, obs), complete=False)
    return _result(rule, _daily_cost(rule, obs, daily_budget), complete=False)


def _result(rule: AlertRule, conditions: Iterable[Condition], complete: bool) -> RuleResult:
    merged = by_dedup_key((rule, condition) for condition in conditions)
    return RuleResult(rule, tuple(condition for _, condition in merged.values()), complete)


def by_dedup_key(
    pairs: Iterable[tuple[AlertRule, Condition]],
) -> dict[str, tuple[AlertRule, Condition]]:
    """One condition per dedup key (keys are incidents): the first firing one, else the first.
    Keys meet when a template leaves out a scope ({pipeline}, say) or two rules share one."""
    kept: dict[str, tuple[AlertRule, Condition]] = {}
    for rule, condition in pairs:
        earlier = kept.get(condition.dedup_key)
        if earlier is None or (condition.firing and not earlier[1].firing):
            kept[condition.dedup_key] = (rule, condition)
    return kept


def _latest_run_failed(rule: LatestRunFailedRule, obs: Observation) -> Iterable[Condition]:
    newest: dict[str, RunRecord] = {}
    for run in obs.records:
        if run.status == "running" or not rule.watches(run):
            continue
        kept = newest.get(run.pipeline_id)
        if kept is None or _finish_order(run) > _finish_order(kept):
            newest[run.pipeline_id] = run
    for pipeline, run in sorted(newest.items()):
        failed = run.status == "failed"
        outcome = f"failed {_where(run)}" if failed else "completed"
        yield Condition(
            rule.key(**_scope(run)),
            failed,
            f"{pipeline}: latest run {run.pathspec} {outcome}",
            _run_details(run),
            _link(obs, run),
        )


def _success_rate(rule: SuccessRateBelowRule, obs: Observation) -> Iterable[Condition]:
    since = obs.now - rule.window
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for run in obs.records:
        if run.status == "running" or run.started < since or not rule.watches(run):
            continue
        if rule.per_pipeline:
            groups[run.pipeline_id].append(run)
        if rule.overall:
            groups[ALL_PIPELINES].append(run)
    for pipeline, runs in sorted(groups.items()):
        yield _rate_condition(rule, obs, pipeline, runs)


def _rate_condition(
    rule: SuccessRateBelowRule, obs: Observation, pipeline: str, runs: list[RunRecord]
) -> Condition:
    failed = sorted((r for r in runs if r.status == "failed"), key=_finish_order)
    rate = 1 - len(failed) / len(runs)
    judged = len(runs) >= rule.min_runs
    firing = judged and rate < rule.threshold
    label, window = pipeline if pipeline != ALL_PIPELINES else "all pipelines", rule.window
    summary = (
        f"{label}: success rate {rate:.1%} over {format_duration(window)} "
        f"({len(runs) - len(failed)} of {len(runs)} finished runs completed)"
    )
    if firing:
        summary += f", below {rule.threshold * 100:g}%"
    elif not judged:
        summary += f", too few to judge (min_runs {rule.min_runs})"
    details = {
        "pipeline": label,
        "success_rate": f"{rate:.4f}",
        "finished_runs": str(len(runs)),
        "failed_runs": str(len(failed)),
        "window": format_duration(window),
        "threshold": f"{rule.threshold:g}",
    }
    link = None
    if failed:
        reasons = Counter(f"{r.failing_step or '?'}: {r.exception_type or '?'}" for r in failed)
        details["failure_reasons"] = "; ".join(f"{k} x{n}" for k, n in reasons.most_common())
        details |= {f"latest_failed_{k}": v for k, v in _run_details(failed[-1]).items()}
        link = _link(obs, failed[-1])
    scope = _scope(runs[0]) if pipeline != ALL_PIPELINES else dict.fromkeys(_scope(runs[0]), "*")
    return Condition(rule.key(**scope), firing, summary, details, link)


def _run_longer(rule: RunLongerThanP95Rule, obs: Observation) -> Iterable[Condition]:
    since = obs.now - rule.history
    history: dict[str, list[float]] = defaultdict(list)
    for run in obs.records:
        seconds = run.duration_seconds
        if run.status != "running" and seconds is not None and run.started >= since:
            history[run.pipeline_id].append(seconds)
    for run in obs.records:
        durations = history.get(run.pipeline_id, [])
        if run.status != "running" or not rule.watches(run) or len(durations) < rule.min_runs:
            continue
        p95, elapsed = _p95(durations), (obs.now - run.started).total_seconds()
        firing = elapsed > rule.multiplier * p95
        took, typical = (format_duration(timedelta(seconds=round(t))) for t in (elapsed, p95))
        yield Condition(
            rule.key(**_scope(run), run_id=run.run_id),
            firing,
            f"{run.pipeline_id}: run {run.pathspec} running for {took}, "
            f"{'over' if firing else 'within'} {rule.multiplier:g} x p95 "
            f"({typical} over {len(durations)} finished runs)",
            _run_details(run) | {"elapsed_seconds": f"{elapsed:.0f}", "p95_seconds": f"{p95:.0f}"},
            _link(obs, run),
        )


def _batch_queue(rule: BatchQueueAboveRule, obs: Observation) -> Iterable[Condition]:
    reported = obs.report.batch_queue_depth if obs.report is not None else None
    depth = obs.batch_queue_depth if obs.batch_queue_depth is not None else reported
    if depth is None:
        return
    firing = depth > rule.threshold
    yield Condition(
        rule.key(),
        firing,
        f"AWS Batch queue holds {depth} runnable jobs "
        f"({'over' if firing else 'within'} the limit of {rule.threshold})",
        {"queue_depth": str(depth), "threshold": str(rule.threshold)},
    )


def _unreachable(rule: EndpointUnreachableRule, obs: Observation) -> Iterable[Condition]:
    for endpoint in rule.endpoints:
        if obs.checked_endpoints is not None and endpoint not in obs.checked_endpoints:
            continue
        error, label = obs.unreachable.get(endpoint), ENDPOINT_LABELS[endpoint]
        summary = f"{label} is unreachable: {error}" if error else f"{label} answers again"
        details = {"endpoint": endpoint} | ({"error": error} if error else {})
        yield Condition(rule.key(endpoint=endpoint), error is not None, summary, details)


def _daily_cost(
    rule: DailyCostAboveRule, obs: Observation, daily_budget: float | None
) -> Iterable[Condition]:
    budget = rule.budget if rule.budget is not None else daily_budget
    today = obs.now.date()
    cost = obs.daily_cost
    if cost is None and obs.report is not None:
        cost = next((m.cost_usd for day, m in obs.report.by_day if day == today), None)
    if budget is None or cost is None:
        return
    firing = cost > budget
    yield Condition(
        rule.key(date=today.isoformat()),
        firing,
        f"compute cost on {today} is ${cost:,.2f}, "
        f"{'over' if firing else 'within'} the daily budget of ${budget:,.2f}",
        {"date": today.isoformat(), "cost_usd": f"{cost:.2f}", "budget_usd": f"{budget:.2f}"},
    )


def _finish_order(run: RunRecord) -> tuple[datetime, datetime, str]:
    """Latest outcome last; a crashed run without a finish time counts at its start."""
    return (run.finished or run.started, run.started, run.run_id)


def _scope(run: RunRecord) -> dict[str, str]:
    return {"pipeline": run.pipeline_id, "flow": run.flow, "project": run.project or ""}


def _where(run: RunRecord) -> str:
    if run.failing_step:
        exception = f": {run.exception_type}" if run.exception_type else ""
        return f"at step {run.failing_step}{exception}"
    return "without a failing step (crashed or lost its heartbeat)"


def _run_details(run: RunRecord) -> dict[str, str]:
    details = {
        "pipeline": run.pipeline_id,
        "flow": run.flow,
        "run": run.pathspec,
        "status": run.status,
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat() if run.finished else "",
        "failing_step": run.failing_step or "",
        "exception": run.exception_type or "",  # the key the notifiers label "Exception"
        "user": run.user or "",
    }
    return {k: v for k, v in details.items() if v}


def _link(obs: Observation, run: RunRecord) -> str | None:
    if not obs.link_template:
        return None
    values = {"flow": run.flow, "run_id": run.run_id, "pathspec": run.pathspec}
    try:
        return obs.link_template.format(**values, pipeline=run.pipeline_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise PlatformError(
            f"alerts.run_link_template {obs.link_template!r}: cannot fill it ({exc})",
            "use only {flow}, {run_id}, {pathspec} and {pipeline} in the template",
        ) from None


def _p95(values: list[float]) -> float:
    """95th percentile, linear between the closest ranks (numpy's default method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]
