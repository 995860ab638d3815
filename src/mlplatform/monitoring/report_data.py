"""Numbers of a monitoring report from run records: per pipeline, user, team and UTC day.

`build_report` is pure: records, a window and a price table in, a `metrics.Report` out. The
window is half-open, [since, until), on each run's start time. Conventions a reader of the
numbers should know:

- success rate is completed / (completed + failed); None when nothing finished, since 0 % and
  "no data" mean different things on a dashboard;
- duration percentiles (linear interpolation, as numpy's default) cover every finished run,
  failed ones included, as `metrics.GroupMetrics` defines them;
- a failure reason is "step: ExceptionType"; "unknown" stands for what the collector could not
  tell (a crashed task leaves no exception behind);
- cost counts finished task attempts only (see `cost.py`); attempts that could not be priced
  are logged here, with their instance types, because `Report` has no field for them yet;
- users and teams a run does not name are grouped as "(unknown)" and "(no team)".
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

import numpy as np

from mlplatform.monitoring.cost import CostSummary, PriceTable, summarize_cost
from mlplatform.monitoring.metrics import GroupMetrics, Report
from mlplatform.monitoring.records import RunRecord

log = logging.getLogger(__name__)

NO_USER = "(unknown)"
NO_TEAM = "(no team)"
UNKNOWN = "unknown"


def build_report(
    records: Iterable[RunRecord],
    since: datetime,
    until: datetime,
    prices: PriceTable,
    cpu_second_price: float = 0.0,
    batch_queue_depth: int | None = None,
) -> Report:
    since, until = _utc(since), _utc(until)
    runs = sorted(
        (r for r in records if since <= _utc(r.started) < until), key=lambda r: _utc(r.started)
    )

    # Each run's tasks are priced once; the groups (overall, pipeline, user, team, day) add up
    # run totals. Pricing per group visited every task five times over.
    costs = {id(r): summarize_cost(r.tasks, prices, cpu_second_price) for r in runs}

    def group(key: str, members: list[RunRecord]) -> GroupMetrics:
        return group_metrics(key, members, prices, cpu_second_price, costs)

    overall = group("all", runs)
    unpriced: Counter[str] = Counter()
    for cost in costs.values():
        unpriced.update(cost.unpriced)
    if unpriced:
        log.warning(
            "cost excludes %d task attempts with no price: %s (add them to prices_file)",
            unpriced.total(),
            ", ".join(f"{k} x{n}" for k, n in sorted(unpriced.items())),
        )
    by_day = _by_day(runs, since, until)
    return Report(
        since=since,
        until=until,
        overall=overall,
        by_pipeline=_grouped(runs, lambda r: r.pipeline_id, group),
        by_user=_grouped(runs, lambda r: r.user or NO_USER, group),
        by_team=_grouped(runs, lambda r: r.team or NO_TEAM, group),
        by_day=[(day, group(day.isoformat(), members)) for day, members in by_day],
        durations=[(r.pipeline_id, d) for r in runs if (d := r.duration_seconds) is not None],
        batch_queue_depth=batch_queue_depth,
    )


def group_metrics(
    key: str,
    runs: list[RunRecord],
    prices: PriceTable,
    cpu_second_price: float = 0.0,
    run_costs: Mapping[int, CostSummary] | None = None,
) -> GroupMetrics:
    """One group's numbers; `run_costs` (by `id(run)`) saves pricing the same tasks again."""
    status = Counter(r.status for r in runs)
    finished = status["completed"] + status["failed"]
    durations = [d for r in runs if r.status != "running" and (d := r.duration_seconds) is not None]
    waits = [
        t.queue_wait_seconds for r in runs for t in r.tasks if t.queue_wait_seconds is not None
    ]
    if run_costs is None:
        run_costs = {id(r): summarize_cost(r.tasks, prices, cpu_second_price) for r in runs}
    usd = sum(run_costs[id(r)].usd for r in runs)
    cpu_seconds = sum(run_costs[id(r)].cpu_seconds for r in runs)
    reasons = Counter(failure_reason(r) for r in runs if r.status == "failed")
    return GroupMetrics(
        key=key,
        runs=len(runs),
        completed=status["completed"],
        failed=status["failed"],
        running=status["running"],
        success_rate=status["completed"] / finished if finished else None,
        p50_seconds=percentile(durations, 50),
        p95_seconds=percentile(durations, 95),
        queue_wait_p50_seconds=percentile(waits, 50),
        cost_usd=usd,
        cpu_seconds=cpu_seconds,
        failure_reasons=dict(reasons.most_common()),
    )


def failure_reason(run: RunRecord) -> str:
    return f"{run.failing_step or UNKNOWN}: {run.exception_type or UNKNOWN}"


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _grouped(
    runs: list[RunRecord],
    key: Callable[[RunRecord], str],
    group: Callable[[str, list[RunRecord]], GroupMetrics],
) -> list[GroupMetrics]:
    members: dict[str, list[RunRecord]] = {}
    for run in runs:
        members.setdefault(key(run), []).append(run)
    return [group(k, members[k]) for k in sorted(members)]


def _by_day(
    runs: list[RunRecord], since: datetime, until: datetime
) -> list[tuple[date, list[RunRecord]]]:
    """Every UTC day the window touches, oldest first, empty days included (a gap is news)."""
    members: dict[date, list[RunRecord]] = {}
    for run in runs:
        members.setdefault(_utc(run.started).date(), []).append(run)
    days: list[tuple[date, list[RunRecord]]] = []
    day, last = since.date(), (until - timedelta(microseconds=1)).date()
    while day <= last:
        days.append((day, members.get(day, [])))
        day += timedelta(days=1)
    return days


def _utc(moment: datetime) -> datetime:
    """Records and windows are UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
