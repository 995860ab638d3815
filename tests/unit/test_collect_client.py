"""The client collector's reading of task metadata the local tests cannot produce.

Batch attempts (`aws-batch-job-id`, `ec2-instance-type`) and the service's heartbeats
(`last_heartbeat_ts` in each object's record) come from AWS and the metadata service; here
they are client objects shaped as Metaflow's (`metaflow.client.core.Metadata` rows with
millisecond timestamps, naive local `created_at`). Local runs are in
tests/integration/test_collect_client.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from metaflow.client.core import Metadata

from mlplatform.monitoring.collect_client import ClientCollector

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def naive_local(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp())  # what Metaflow's created_at holds


@dataclass
class FakeTask:
    id: str
    created: datetime
    rows: list[tuple[str, str, datetime]]
    heartbeat: datetime | None = None
    exception: Any = None

    @property
    def created_at(self) -> datetime:
        return naive_local(self.created)

    @property
    def metadata(self) -> list[Metadata]:
        return [Metadata(n, v, ms(at), n, self) for n, v, at in self.rows]

    @property
    def _object(self) -> dict[str, Any]:
        return {"last_heartbeat_ts": int(self.heartbeat.timestamp()) if self.heartbeat else None}


@dataclass
class FakeStep:
    id: str
    tasks: list[FakeTask]

    def __iter__(self):
        return iter(self.tasks)


@dataclass
class FakeRun:
    steps: list[FakeStep]
    created: datetime
    heartbeat: datetime | None = None
    system_tags: frozenset[str] = frozenset({"user:alice"})
    user_tags: frozenset[str] = field(default_factory=frozenset)
    id: str = "42"
    path_components: tuple[str, ...] = ("TrainFlow", "42")

    @property
    def tags(self) -> frozenset[str]:
        return self.system_tags | self.user_tags

    @property
    def created_at(self) -> datetime:
        return naive_local(self.created)

    @property
    def _object(self) -> dict[str, Any]:
        return {"last_heartbeat_ts": int(self.heartbeat.timestamp()) if self.heartbeat else None}

    def __iter__(self):
        return iter(self.steps)


def attempt(n: int, start: datetime, end: datetime | None, ok: bool | None, **fields: str):
    rows = [("attempt", str(n), start)]
    rows += [(k.replace("_", "-"), v, start + timedelta(seconds=1)) for k, v in fields.items()]
    if end is not None and ok is not None:
        rows += [("attempt_ok", str(ok), end), ("attempt-done", str(n), end)]
    return rows


def collector(**kwargs: Any) -> ClientCollector:
    return ClientCollector(heartbeat_cutoff_seconds=600, clock=lambda: NOW, **kwargs)


def test_batch_attempts_record_instance_type_queue_wait_and_no_cpu_seconds() -> None:
    t0 = NOW - timedelta(hours=2)
    batch = {"aws_batch_job_id": "job-1", "ec2_instance_type": "m5.large"}
    train = FakeTask(
        "2", t0, attempt(0, t0 + timedelta(minutes=5), t0 + timedelta(hours=1), True, **batch)
    )
    end = FakeTask(
        "3",
        t0 + timedelta(hours=1),
        attempt(0, t0 + timedelta(minutes=61), t0 + timedelta(minutes=62), True),
    )
    record = collector().record(FakeRun([FakeStep("end", [end]), FakeStep("train", [train])], t0))
    assert record.status == "completed"
    assert record.finished == t0 + timedelta(minutes=62)
    on_batch, local = record.tasks
    assert on_batch.instance_type == "m5.large"
    assert on_batch.queue_wait_seconds == 300  # registered, then 5 minutes in RUNNABLE
    assert on_batch.started == t0 + timedelta(minutes=5)  # billed from the container start
    assert on_batch.duration_seconds == 55 * 60 and on_batch.cpu_seconds is None
    assert local.instance_type is None and local.queue_wait_seconds is None
    assert local.cpu_seconds == 120  # local: from the spawn (registration) to the end
    assert record.step_seconds["train"] == 3600  # queue wait included in the step's wall time


def test_each_retry_is_its_own_attempt_on_its_own_instance() -> None:
    t0 = NOW - timedelta(hours=1)
    rows = attempt(
        0, t0, t0 + timedelta(minutes=10), False, ec2_instance_type="c5.large", aws_batch_job_id="a"
    )
    rows += attempt(
        1,
        t0 + timedelta(minutes=12),
        t0 + timedelta(minutes=20),
        True,
        ec2_instance_type="m5.xlarge",
        aws_batch_job_id="b",
    )
    train = FakeTask("2", t0, rows)
    end = FakeTask(
        "3",
        t0 + timedelta(minutes=21),
        attempt(0, t0 + timedelta(minutes=21), t0 + timedelta(minutes=22), True),
    )
    record = collector().record(FakeRun([FakeStep("train", [train]), FakeStep("end", [end])], t0))
    assert record.status == "completed" and record.retries == 1
    first, retry = record.tasks[:2]
    assert (first.attempt, first.instance_type, first.duration_seconds) == (0, "c5.large", 600)
    assert (retry.attempt, retry.instance_type, retry.duration_seconds) == (1, "m5.xlarge", 480)
    assert retry.queue_wait_seconds is None  # a resubmission's wait is not recorded


@pytest.mark.parametrize(("beat_age_s", "status"), [(100, "running"), (700, "failed")])
def test_a_run_without_outcome_is_failed_once_its_heartbeat_is_stale(
    beat_age_s: int, status: str
) -> None:
    t0 = NOW - timedelta(hours=1)
    open_task = FakeTask(
        "2", t0, attempt(0, t0, None, None), heartbeat=NOW - timedelta(seconds=beat_age_s)
    )
    run = FakeRun(
        [FakeStep("train", [open_task])], t0, heartbeat=NOW - timedelta(seconds=beat_age_s)
    )
    record = collector().record(run)
    assert record.status == status
    if status == "failed":
        assert record.failing_step == "train" and record.exception_type is None
        assert record.finished == (NOW - timedelta(seconds=beat_age_s)).replace(microsecond=0)


@pytest.mark.parametrize(("beat_after_failure_s", "status"), [(5, "failed"), (90, "running")])
def test_a_runtime_still_beating_after_a_failure_is_waiting_to_retry(
    beat_after_failure_s: int, status: str
) -> None:
    t0 = NOW - timedelta(minutes=10)
    failed_at = NOW - timedelta(minutes=2)
    train = FakeTask("2", t0, attempt(0, t0, failed_at, False), exception=None)
    run = FakeRun(
        [FakeStep("train", [train])],
        t0,
        heartbeat=failed_at + timedelta(seconds=beat_after_failure_s),
    )
    assert collector().record(run).status == status


def test_without_heartbeats_a_silent_run_reads_running_for_a_day() -> None:
    t0 = NOW - timedelta(hours=5)  # a long local training step writes nothing until it ends
    run = FakeRun([FakeStep("train", [FakeTask("2", t0, attempt(0, t0, None, None))])], t0)
    assert collector().record(run).status == "running"
    assert collector(no_heartbeat_cutoff_seconds=3600).record(run).status == "failed"


def test_tags_give_user_project_branch_and_team() -> None:
    t0 = NOW - timedelta(minutes=5)
    run = FakeRun(
        [FakeStep("end", [FakeTask("3", t0, attempt(0, t0, t0 + timedelta(seconds=3), True))])],
        t0,
        system_tags=frozenset({"user:bob", "project:ads", "project_branch:prod"}),
        user_tags=frozenset({"team:growth", "experiment"}),
    )
    record = collector().record(run)
    assert (record.user, record.project, record.branch, record.team) == (
        "bob",
        "ads",
        "prod",
        "growth",
    )
    assert record.pipeline_id == "ads.TrainFlow" and "experiment" in record.tags
