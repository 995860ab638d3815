"""The client collector on real local Metaflow runs, and Batch queue depth against moto.

Four runs of a three-step flow (`flows/monitoring_flow.py`, a few seconds each, started
together): one completed with a team tag, one failing in its middle step with ValueError, one
whose middle step succeeds on its retry, and one killed while its middle step runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from mlplatform.errors import PlatformError
from mlplatform.monitoring import batch_queue
from mlplatform.monitoring.collect_client import ClientCollector
from mlplatform.monitoring.cost import PriceTable
from mlplatform.monitoring.records import RunRecord
from mlplatform.monitoring.report_data import build_report
from tests.conftest import AWS_ENV, metaflow_env

pytestmark = pytest.mark.slow

FLOW = Path(__file__).parent / "flows" / "monitoring_flow.py"
NAME = "MonitoringTestFlow"


@dataclass
class Runs:
    workdir: Path
    ids: dict[str, str]  # name -> run id
    began: datetime

    def by_name(self, records: list[RunRecord]) -> dict[str, RunRecord]:
        names = {run_id: name for name, run_id in self.ids.items()}
        return {names[r.run_id]: r for r in records if r.run_id in names}


def _start(workdir: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    id_file = workdir / f"run-id-{uuid.uuid4().hex}"
    proc = subprocess.Popen(
        [sys.executable, str(FLOW), "run", "--run-id-file", str(id_file), *args],
        cwd=workdir,
        env=metaflow_env(workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill below reaches its tasks
    )
    return proc, id_file


def _finish(workdir: Path, args: list[str], should_succeed: bool) -> str:
    proc, id_file = _start(workdir, *args)
    output, _ = proc.communicate(timeout=300)
    assert (proc.returncode == 0) == should_succeed, output[-3000:]
    return id_file.read_text().strip()


def _kill_during_work(workdir: Path) -> str:
    proc, id_file = _start(workdir, "--sleep", "120")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run_dir = (
            workdir
            / ".metaflow"
            / NAME
            / (id_file.read_text().strip() if id_file.exists() else "-")
        )
        if list(run_dir.glob("work/*/_meta/sysmeta_attempt_*")):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the `work` step never started")
    os.killpg(proc.pid, signal.SIGKILL)  # no task gets to write an outcome
    proc.wait(timeout=30)
    return id_file.read_text().strip()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    import metaflow
    from metaflow.plugins.datastores.local_storage import LocalStorage

    workdir = tmp_path_factory.mktemp("monitoring")
    began = datetime.now(UTC) - timedelta(seconds=1)
    plans = {
        "completed": (["--tag", "team:data-science"], True),
        "failed": (["--fail", "True"], False),
        "retried": (["--with", "retry:minutes_between_retries=0", "--flaky", "True"], True),
    }
    with ThreadPoolExecutor(4) as pool:
        killed = pool.submit(_kill_during_work, workdir)
        done = {name: pool.submit(_finish, workdir, *plan) for name, plan in plans.items()}
        ids = {name: f.result() for name, f in done.items()} | {"killed": killed.result()}
    saved_root = LocalStorage.datastore_root
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("USER", "tester")  # the client needs a user name, even as root
        metaflow.metadata(f"local@{workdir}")
        try:
            yield Runs(workdir, ids, began)
        finally:
            LocalStorage.datastore_root = saved_root
            metaflow.default_metadata()


@pytest.fixture(scope="module")
def records(runs: Runs) -> dict[str, RunRecord]:
    collected = ClientCollector().collect(runs.began, flows=[NAME])
    assert [r.started for r in collected] == sorted((r.started for r in collected), reverse=True)
    return runs.by_name(collected)


def test_a_completed_run_has_times_tags_and_local_cpu_seconds(
    records: dict[str, RunRecord],
) -> None:
    run = records["completed"]
    assert run.status == "completed"
    assert (run.user, run.team, run.project) == ("tester", "data-science", "monitoring_tests")
    assert run.branch == "user.tester" and run.pipeline_id == f"monitoring_tests.{NAME}"
    assert run.finished is not None and 0 < run.duration_seconds < 120
    assert set(run.step_seconds) == {"start", "work", "end"}
    assert [t.step for t in run.tasks] == ["start", "work", "end"]
    for task in run.tasks:
        assert task.instance_type is None and task.queue_wait_seconds is None
        assert task.cpu_seconds == pytest.approx(task.duration_seconds) and task.cpu_seconds > 0
    assert run.failing_step is None and run.exception_type is None and run.retries == 0


def test_a_failed_run_names_its_step_and_exception(records: dict[str, RunRecord]) -> None:
    run = records["failed"]
    assert run.status == "failed"
    assert (run.failing_step, run.exception_type) == ("work", "ValueError")
    assert run.finished is not None and run.finished >= run.started
    assert "end" not in run.step_seconds and "work" in run.step_seconds


def test_a_run_that_succeeds_on_retry_is_completed_with_one_retry(
    records: dict[str, RunRecord],
) -> None:
    run = records["retried"]
    assert run.status == "completed" and run.retries == 1
    assert [(t.step, t.attempt) for t in run.tasks if t.step == "work"] == [
        ("work", 0),
        ("work", 1),
    ]


def test_a_killed_run_reads_running_until_the_no_heartbeat_cutoff(
    runs: Runs, records: dict[str, RunRecord]
) -> None:
    assert records["killed"].status == "running" and records["killed"].finished is None
    later = ClientCollector(clock=lambda: datetime.now(UTC) + timedelta(days=2))
    run = runs.by_name(later.collect(runs.began, flows=[NAME]))["killed"]
    assert run.status == "failed"
    assert (run.failing_step, run.exception_type) == ("work", None)
    assert run.finished is not None and run.started < run.finished < datetime.now(UTC)


def test_filters_by_namespace_flow_and_time(runs: Runs) -> None:
    tagged = ClientCollector(namespace="team:data-science").collect(runs.began)
    assert [r.run_id for r in tagged] == [runs.ids["completed"]]
    assert ClientCollector().collect(runs.began, flows=["NoSuchFlow"]) == []
    assert ClientCollector().collect(datetime.now(UTC) + timedelta(minutes=1)) == []
    assert {r.run_id for r in ClientCollector().collect(runs.began)} == set(runs.ids.values())
    assert ClientCollector().describe() == f"Metaflow client API (local@{runs.workdir})"


def test_report_over_collected_runs(runs: Runs, records: dict[str, RunRecord]) -> None:
    until = datetime.now(UTC) + timedelta(minutes=1)
    rep = build_report(records.values(), runs.began, until, PriceTable({}), cpu_second_price=0.01)
    overall = rep.overall
    assert (overall.runs, overall.completed, overall.failed, overall.running) == (4, 2, 1, 1)
    assert overall.success_rate == pytest.approx(2 / 3)
    assert overall.failure_reasons == {"work: ValueError": 1}
    assert overall.cpu_seconds > 0 and overall.cost_usd == pytest.approx(overall.cpu_seconds * 0.01)
    assert [g.key for g in rep.by_team] == ["(no team)", "data-science"]


# --- Batch queue depth ---------------------------------------------------------------------


def test_queue_depth_against_moto(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto creates queues but, without docker, fails every job at once: none stays RUNNABLE."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    suffix = uuid.uuid4().hex[:8]
    role = boto3.client("iam").create_role(
        RoleName=f"batch-{suffix}", AssumeRolePolicyDocument="{}"
    )
    batch = boto3.client("batch")
    env = batch.create_compute_environment(
        computeEnvironmentName=f"ce-{suffix}", type="UNMANAGED", serviceRole=role["Role"]["Arn"]
    )
    queue = f"queue-{suffix}"
    order = [{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}]
    batch.create_job_queue(
        jobQueueName=queue, state="ENABLED", priority=1, computeEnvironmentOrder=order
    )
    assert batch_queue.runnable_jobs(queue) == 0
    assert batch_queue.oldest_runnable_age_seconds(queue) is None
    with pytest.raises(PlatformError) as err:
        batch_queue.runnable_jobs(f"missing-{suffix}")
    assert f"missing-{suffix}" in err.value.headline and "ClientException" in err.value.headline
    assert "\n" not in err.value.one_line()


def _page(count: int, first_created_ms: int) -> list[dict[str, object]]:
    return [
        {"jobId": f"j{first_created_ms + i}", "jobName": "step", "createdAt": first_created_ms + i}
        for i in range(count)
    ]


def test_queue_depth_counts_every_page_and_finds_the_oldest_job() -> None:
    """Pagination on recorded-shape ListJobs pages: moto cannot hold jobs in RUNNABLE."""
    client = boto3.client(
        "batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    base = {"jobQueue": "q", "jobStatus": "RUNNABLE", "maxResults": 100}
    pages = [
        ({"jobSummaryList": _page(100, 2_000_000), "nextToken": "t1"}, base),
        ({"jobSummaryList": _page(100, 1_000_000), "nextToken": "t2"}, base | {"nextToken": "t1"}),
        ({"jobSummaryList": _page(37, 3_000_000)}, base | {"nextToken": "t2"}),
    ]
    with Stubber(client) as stub:
        for response, expected in pages:
            stub.add_response("list_jobs", response, expected)
        depth = batch_queue.queue_depth("q", client)
        stub.assert_no_pending_responses()
    assert depth.runnable == 237
    assert depth.oldest_created_epoch_ms == 1_000_000
    assert depth.oldest_age_seconds(now_epoch_seconds=1_060.0) == 60.0


def test_queue_depth_access_denied_is_one_line() -> None:
    client = boto3.client(
        "batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_jobs", "AccessDeniedException", "not authorized: batch:ListJobs"
        )
        with pytest.raises(PlatformError) as err:
            batch_queue.runnable_jobs("q", client)
    assert (
        "AccessDeniedException" in err.value.headline and "batch:ListJobs" in err.value.one_line()
    )
