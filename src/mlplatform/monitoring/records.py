"""The shapes every monitoring part shares: what a collector returns, what a rule emits.

Collectors (Metaflow client API, the metadata service's PostgreSQL database) return
`RunRecord`s; metrics, cost, rules and reports read only these, so they work the same on
either source. Times are timezone-aware UTC datetimes; durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

RunStatus = Literal["running", "completed", "failed"]
Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class TaskRecord:
    """One task attempt's facts that cost and queue metrics need."""

    step: str
    task_id: str
    started: datetime | None
    finished: datetime | None
    attempt: int = 0
    instance_type: str | None = None  # Batch tasks record `ec2-instance-type`; None locally
    queue_wait_seconds: float | None = None  # Batch: submitted -> started; None locally
    cpu_seconds: float | None = None  # local runs: wall time x cores the task could use

    @property
    def duration_seconds(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


@dataclass(frozen=True)
class RunRecord:
    """One Metaflow run as monitoring sees it."""

    flow: str
    run_id: str
    user: str | None
    status: RunStatus
    started: datetime
    finished: datetime | None = None
    project: str | None = None  # from the `project:<name>` system tag
    branch: str | None = None  # from the `project_branch:<name>` system tag
    team: str | None = None  # from a `team:<name>` tag, when the run carries one
    tags: frozenset[str] = field(default_factory=frozenset)
    step_seconds: dict[str, float] = field(default_factory=dict)
    failing_step: str | None = None
    exception_type: str | None = None
    retries: int = 0
    tasks: tuple[TaskRecord, ...] = ()

    @property
    def pathspec(self) -> str:
        return f"{self.flow}/{self.run_id}"

    @property
    def pipeline_id(self) -> str:
        """`project.name` when the run is tagged by a spec's @project, else the flow name."""
        return f"{self.project}.{self.flow}" if self.project else self.flow

    @property
    def duration_seconds(self) -> float | None:
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


class RunCollector(Protocol):
    """A source of run records (client API or SQL); `describe()` names it in messages."""

    def describe(self) -> str: ...

    def collect(self, since: datetime, flows: list[str] | None = None) -> list[RunRecord]:
        """Runs started at or after `since`, newest first; `flows` limits the flow names."""
        ...


@dataclass(frozen=True)
class Alert:
    """One notification about one condition; `id` is stable across retries and resends.

    `state` is "trigger" while the condition holds and "resolve" once it clears; both carry
    the same `dedup_key` (PagerDuty's), so a receiver can pair them. `id` identifies this one
    message (dedup_key + state + the time the condition started), so an at-least-once sender
    can repeat it and a receiver can drop the repeat.
    """

    id: str
    dedup_key: str
    rule: str
    state: Literal["trigger", "resolve"]
    severity: Severity
    summary: str
    details: dict[str, str] = field(default_factory=dict)
    link: str | None = None
    created: datetime | None = None
