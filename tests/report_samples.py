"""Hand-built monitoring `Report`s for the render and publish tests (no collector, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mlplatform.monitoring.metrics import GroupMetrics, Report

HOSTILE = "<script>alert(1)</script>"


def group(
    key: str,
    completed: int,
    failed: int,
    running: int = 0,
    cost: float = 0.0,
    p50: float | None = 120.0,
    reasons: dict[str, int] | None = None,
) -> GroupMetrics:
    finished = completed + failed
    return GroupMetrics(
        key=key,
        runs=finished + running,
        completed=completed,
        failed=failed,
        running=running,
        success_rate=completed / finished if finished else None,
        p50_seconds=p50 if finished else None,
        p95_seconds=p50 * 3 if finished and p50 is not None else None,
        queue_wait_p50_seconds=15.0 if finished else None,
        cost_usd=cost,
        cpu_seconds=40.0,
        failure_reasons=reasons or {},
    )


def sample_report(until: datetime | None = None, pipeline: str = "growth.d7_purchase") -> Report:
    """Three pipelines, three users (one costs nothing), four days (one without finished runs)."""
    until = until or datetime(2024, 3, 8, tzinfo=UTC)
    reasons = {"train: ValueError": 2, "load: KeyError": 1}
    return Report(
        since=until - timedelta(days=7),
        until=until,
        overall=group("all", 13, 3, running=1, cost=4.5, reasons=reasons),
        by_pipeline=[
            group(pipeline, 8, 2, cost=3.0, reasons={"train: ValueError": 2}),
            group("ltv.forecast", 5, 0, cost=1.5),
            group("churn.scoring", 0, 1, running=1, reasons={"load: KeyError": 1}),
        ],
        by_user=[
            group("alice", 9, 2, cost=3.25),
            group("bob", 4, 1, running=1, cost=1.25),
            group("carol", 0, 0, running=0, cost=0.0),
        ],
        by_team=[group("growth", 13, 3, running=1, cost=4.5)],
        by_day=[
            (date(2024, 3, 4), group("2024-03-04", 4, 0)),
            (date(2024, 3, 5), group("2024-03-05", 3, 1)),
            (date(2024, 3, 6), group("2024-03-06", 0, 0, running=1)),
            (date(2024, 3, 7), group("2024-03-07", 6, 2)),
        ],
        durations=[(pipeline, 60.0)] * 3 + [("ltv.forecast", 600.0)] * 2 + [("x", 1200.0)],
        batch_queue_depth=7,
    )


def empty_report() -> Report:
    until = datetime(2024, 3, 8, tzinfo=UTC)
    return Report(
        since=until - timedelta(days=7),
        until=until,
        overall=group("all", 0, 0),
        by_pipeline=[],
        by_user=[],
        by_team=[],
        by_day=[],
        durations=[],
    )
