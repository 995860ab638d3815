"""Metrics over run records: per pipeline, user, team and day, with a cost estimate.

`build_report` is the one entry point reports, publishers and rules use. It is pure: records
and a price table in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class GroupMetrics:
    """Numbers for one group of runs (one pipeline, user, team or day; or all runs)."""

    key: str
    runs: int
    completed: int
    failed: int
    running: int
    success_rate: float | None  # completed / (completed + failed); None when none finished
    p50_seconds: float | None  # duration percentiles of finished runs
    p95_seconds: float | None
    queue_wait_p50_seconds: float | None  # Batch tasks only; None when no task waited
    cost_usd: float  # instance type x task duration x on-demand price, + local CPU-seconds
    cpu_seconds: float  # local runs' CPU-seconds (reported even when priced at 0)
    failure_reasons: dict[str, int] = field(default_factory=dict)  # "step: Exception" -> runs


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    overall: GroupMetrics
    by_pipeline: list[GroupMetrics]
    by_user: list[GroupMetrics]
    by_team: list[GroupMetrics]
    by_day: list[tuple[date, GroupMetrics]]  # oldest first: success rate over time
    durations: list[tuple[str, float]]  # (pipeline id, seconds) of finished runs
    batch_queue_depth: int | None = None  # RUNNABLE jobs, when a queue is configured
