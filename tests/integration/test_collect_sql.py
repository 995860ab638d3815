"""SqlCollector against a real PostgreSQL holding the metadata service's schema and rows.

Rows come from tests/servers/metaflow_db.py, shaped as metaflow-service 2.5.1 writes them for
Metaflow 2.19. What the database cannot say, and so what these tests expect:

- exception type: only the `_exception` artifact's location/sha is in the database (its value
  is in the datastore), so it is None unless an `exception_reader` reads it — here a fake
  datastore keyed by sha, as a real reader would load the artifact;
- queue wait: Batch attempts store `aws-batch-job-id` and `ec2-instance-type`, not submit
  time, so `queue_wait_seconds` is None; the instance type is per attempt.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mlplatform.errors import PlatformError
from mlplatform.monitoring.collect_sql import ExceptionRef, SqlCollector
from mlplatform.monitoring.records import RunRecord
from mlplatform.settings import MetadataSettings, MonitoringSettings, Settings
from tests.conftest import free_port
from tests.servers.metaflow_db import Attempt, MetadataWriter, create_schema
from tests.servers.postgres import PostgresServer, start_postgres

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TEMPLATE = "metaflow_template"


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def on_database(server: PostgresServer, name: str) -> str:
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One cluster for the module; each test gets a fresh copy of a schema-only database."""
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(on_database(server, TEMPLATE)) as conn:
            create_schema(conn)
        yield server
    finally:
        server.stop()


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    name = f"metaflow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return on_database(postgres, name)


@pytest.fixture
def writer(database: str) -> Iterator[MetadataWriter]:
    with psycopg.connect(database) as conn:
        yield MetadataWriter(conn)


def collect(database: str, **kwargs: Any) -> list[RunRecord]:
    return SqlCollector(database, 600, now=lambda: NOW, **kwargs).collect(ago(24 * 60))


def only(records: list[RunRecord]) -> RunRecord:
    assert len(records) == 1, records
    return records[0]


def test_completed_run_has_status_user_project_and_step_times(
    writer: MetadataWriter, database: str
) -> None:
    run = writer.run("TrainFlow", "alice", ago(60), tags=["team:growth", "nightly"],
                     project="churn", branch="prod")  # fmt: skip
    run.task("start", [Attempt(ago(59), ago(58))])
    run.task("train", [Attempt(ago(57), ago(47))])
    run.task("train", [Attempt(ago(56), ago(50))])
    run.task("end", [Attempt(ago(46), ago(45))])
    writer.flush()

    record = only(collect(database))
    assert record.status == "completed"
    assert (record.flow, record.run_id, record.user) == ("TrainFlow", str(run.run_number), "alice")
    assert (record.project, record.branch, record.team) == ("churn", "prod", "growth")
    assert record.pipeline_id == "churn.TrainFlow"
    assert record.tags == frozenset({"team:growth", "nightly"})
    assert record.started == ago(60)
    assert record.finished == ago(45)  # the `end` step's attempt_ok, as the UI shows it
    assert record.duration_seconds == 15 * 60
    assert record.step_seconds == {"start": 60.0, "train": 600.0, "end": 60.0}
    assert [t.step for t in record.tasks] == ["start", "train", "train", "end"]  # no _parameters
    assert record.retries == 0 and record.failing_step is None
    assert all(t.instance_type is None and t.queue_wait_seconds is None for t in record.tasks)


def test_failed_run_names_the_failing_step_and_reads_the_exception_when_asked(
    writer: MetadataWriter, database: str
) -> None:
    run = writer.run("TrainFlow", "bob", ago(120))
    run.task("start", [Attempt(ago(119), ago(118))])
    train = run.task("train", [Attempt(ago(117), ago(115), ok=False, exception="KeyError"),
                               Attempt(ago(113), ago(110), ok=False, exception="ValueError")])  # fmt: skip
    writer.flush()

    record = only(collect(database))
    assert record.status == "failed"
    assert (record.failing_step, record.retries) == ("train", 1)
    assert record.finished == ago(110)
    assert record.exception_type is None  # the value lives in the datastore, not the database

    asked: list[ExceptionRef] = []

    def datastore(ref: ExceptionRef) -> str | None:
        asked.append(ref)
        return writer.exceptions.get(ref.sha or "")

    record = only(collect(database, exception_reader=datastore))
    assert record.exception_type == "ValueError"  # the last attempt's, not the first one's
    assert [(r.pathspec, r.attempt, r.ds_type) for r in asked] == [
        (f"TrainFlow/{run.run_number}/train/{train}", 1, "local")
    ]


def test_run_that_crashed_before_end_reads_failed_once_its_heartbeat_is_stale(
    writer: MetadataWriter, database: str
) -> None:
    run = writer.run("TrainFlow", "carol", ago(90))
    run.task("start", [Attempt(ago(89), ago(88))])
    run.task("train", [Attempt(ago(87))])  # started; then the process was killed
    first = writer.run("TrainFlow", "carol", ago(200))
    first.task("start", [Attempt(ago(199))])  # killed in its very first task
    writer.flush()

    record, dead_at_start = collect(database)
    assert record.status == "failed"
    assert record.failing_step == "train"
    assert record.finished == ago(87)  # its last sign of life
    assert record.exception_type is None
    assert (dead_at_start.status, dead_at_start.failing_step) == ("failed", "start")

    # Minutes after the crash the heartbeat is still fresh: the UI's rule says running.
    just_after = SqlCollector(database, 600, now=lambda: ago(85))
    early = just_after.collect(ago(24 * 60))[0]
    assert (early.status, early.finished, early.failing_step) == ("running", None, None)


def test_live_run_with_a_fresh_heartbeat_is_running(writer: MetadataWriter, database: str) -> None:
    run = writer.run("TrainFlow", "dan", ago(30), heartbeat=ago(0.2))
    run.task("start", [Attempt(ago(29), ago(28))])
    run.task("train", [Attempt(ago(27))], heartbeat=ago(0.2))
    writer.flush()

    record = only(collect(database))
    assert (record.status, record.finished, record.failing_step) == ("running", None, None)
    assert record.step_seconds == {"start": 60.0}
    assert record.tasks[-1].finished is None


def test_retries_are_counted_per_attempt_with_batch_instance_types(
    writer: MetadataWriter, database: str
) -> None:
    run = writer.run("TrainFlow", "erin", ago(60))
    run.task("start", [Attempt(ago(59), ago(58), instance_type="c5.large")])
    run.task("train", [Attempt(ago(57), ago(55), ok=False, instance_type="r5.2xlarge"),
                       Attempt(ago(52), ago(40), instance_type="r5.4xlarge")])  # fmt: skip
    run.task("end", [Attempt(ago(39), ago(38), instance_type="c5.large")])
    writer.flush()

    record = only(collect(database))
    assert record.status == "completed"  # a failed attempt that was retried is not a failure
    assert record.retries == 1
    assert record.failing_step is None
    train = [(t.attempt, t.instance_type, t.duration_seconds) for t in record.tasks
             if t.step == "train"]  # fmt: skip
    assert train == [(0, "r5.2xlarge", 120.0), (1, "r5.4xlarge", 720.0)]
    assert record.step_seconds["train"] == 17 * 60  # first try's start to the retry's end
    assert all(t.queue_wait_seconds is None for t in record.tasks)


def test_a_retry_of_a_failed_end_is_running_only_while_it_heartbeats(
    writer: MetadataWriter, database: str
) -> None:
    run = writer.run("TrainFlow", "fay", ago(60))
    run.task("start", [Attempt(ago(59), ago(58))])
    run.task("end", [Attempt(ago(57), ago(56), ok=False), Attempt(ago(54))])
    writer.flush()

    assert only(collect(database)).status == "failed"  # its heartbeat stopped 54 minutes ago
    live = SqlCollector(database, 600, now=lambda: ago(53)).collect(ago(24 * 60))
    assert only(live).status == "running"


def test_user_needs_the_user_system_tag_and_null_json_tags_are_empty(
    writer: MetadataWriter, database: str
) -> None:
    run = writer.run("DeployedFlow", "sfn-role", ago(30))
    run.task("end", [Attempt(ago(29), ago(28))])
    writer.flush()
    # Step Functions runs carry no `user:` tag (the UI then shows no user); jsonb can be `null`.
    writer.conn.execute("UPDATE runs_v3 SET system_tags = '[]', tags = 'null'")
    writer.conn.commit()

    record = only(collect(database))
    assert (record.user, record.tags, record.project) == (None, frozenset(), None)
    assert record.status == "completed"


def test_an_old_run_without_heartbeats_is_failed_like_the_ui_says(
    writer: MetadataWriter, database: str
) -> None:
    old = writer.run("LegacyFlow", "gus", NOW - timedelta(days=15))
    old.task("start", [Attempt(NOW - timedelta(days=15))])
    recent = writer.run("LegacyFlow", "gus", ago(60))
    recent.task("start", [Attempt(ago(59))])
    writer.flush()
    writer.conn.execute("UPDATE runs_v3 SET last_heartbeat_ts = NULL")  # pre-heartbeat clients
    writer.conn.commit()

    records = SqlCollector(database, 600, now=lambda: NOW).collect(NOW - timedelta(days=30))
    assert [(r.run_id, r.status) for r in records] == [
        (str(recent.run_number), "running"),
        (str(old.run_number), "failed"),
    ]


def test_since_and_flows_limit_the_runs_newest_first(writer: MetadataWriter, database: str) -> None:
    for flow, minutes in [("A", 300), ("B", 200), ("A", 100), ("B", 50)]:
        writer.run(flow, "hal", ago(minutes)).task("end", [Attempt(ago(minutes - 1), ago(1))])
    writer.flush()
    collector = SqlCollector(database, 600, now=lambda: NOW)

    assert [(r.flow, r.started) for r in collector.collect(ago(250))] == [
        ("B", ago(50)), ("A", ago(100)), ("B", ago(200))]  # fmt: skip
    assert [r.started for r in collector.collect(ago(1000), flows=["A"])] == [ago(100), ago(300)]
    assert collector.collect(ago(1000), flows=["C"]) == []
    assert collector.collect(ago(1000), flows=[]) == []
    assert collector.collect(ago(200).replace(tzinfo=None), flows=["B"])[-1].started == ago(200)


def test_unreachable_database_is_one_line_without_the_password() -> None:
    port = free_port()
    collector = SqlCollector(f"postgresql://monitor:s3cret-pw@127.0.0.1:{port}/metaflow")
    assert (
        collector.describe() == f"metadata database postgresql://monitor@127.0.0.1:{port}/metaflow"
    )
    for call in (collector.ping, lambda: collector.collect(NOW)):
        with pytest.raises(PlatformError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith(
            f"cannot reach the metadata database at postgresql://monitor@127.0.0.1:{port}/metaflow: "
        )
        assert "refused" in message.lower()
        assert "s3cret-pw" not in message and "\n" not in message
        assert caught.value.hint


def test_a_database_without_the_service_tables_says_so(postgres: PostgresServer) -> None:
    collector = SqlCollector(postgres.url)
    collector.ping()  # reachable
    with pytest.raises(PlatformError, match="no Metaflow metadata table"):
        collector.collect(NOW)


def test_from_settings_needs_a_database_url() -> None:
    with pytest.raises(PlatformError, match=r"metadata\.database_url is not set"):
        SqlCollector.from_settings(Settings())
    settings = Settings(
        metadata=MetadataSettings(database_url="postgresql://ro:pw@replica.internal:5433/mf"),
        monitoring=MonitoringSettings(heartbeat_cutoff_seconds=900),
    )
    collector = SqlCollector.from_settings(settings)
    assert collector.describe() == "metadata database postgresql://ro@replica.internal:5433/mf"


def test_the_test_server_refuses_a_port_that_already_answers(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="already answers"):
        start_postgres(tmp_path, port=postgres.port)
