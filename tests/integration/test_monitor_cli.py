"""`mlplatform monitor` end to end: a failing local run is alerted on, and its fix resolves it.

Real endpoints on loopback: Slack and PagerDuty receivers (tests/servers/receivers.py), SNS in
moto with an SQS subscription to read what it delivered, and real local Metaflow runs of
tests/integration/flows/monitoring_flow.py read back through the client API collector.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import AWS_ENV, metaflow_env, run_cli
from tests.servers.receivers import running_receiver

pytestmark = pytest.mark.slow
FLOW = Path(__file__).parent / "flows" / "monitoring_flow.py"


def run_flow(cwd: Path, *args: str) -> int:
    proc = subprocess.run(
        [sys.executable, str(FLOW), "--quiet", "run", *args],
        cwd=cwd,
        env=metaflow_env(cwd),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode


def sns_messages(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    found: list[dict] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            found.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture
def topic(aws: str) -> tuple[str, str]:
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    return arn, queue


def test_a_failing_run_alerts_everywhere_in_one_check_and_its_fix_resolves(
    workdir: Path, aws: str, topic: tuple[str, str]
) -> None:
    topic_arn, queue = topic
    with (
        running_receiver("slack", "T000/B000/slacksecret") as slack,
        running_receiver("pagerduty", "pd-routing-key-1") as pagerduty,
    ):
        site = AWS_ENV | {
            "AWS_ENDPOINT_URL": aws,
            "MLPLATFORM_ALERTS__SNS_TOPIC_ARN": topic_arn,
            "MLPLATFORM_SLACK_WEBHOOK_URL": slack.url,
            "MLPLATFORM_PAGERDUTY_ROUTING_KEY": pagerduty.secret,
            "MLPLATFORM_ALERTS__PAGERDUTY_URL": pagerduty.url,
            "MLPLATFORM_ALERTS__STATE_DB": str(workdir / "alerts.sqlite"),
            "MLPLATFORM_ALERTS__RUN_LINK_TEMPLATE": "https://ui.example/{flow}/{run_id}",
        }
        assert run_flow(workdir, "--fail", "True") != 0
        first = run_cli("monitor", "check", "--json", cwd=workdir, env=site)
        assert first.code == 0, first.stderr
        checked = json.loads(first.stdout)
        failed = [a for a in checked["alerts"] if a["rule"] == "pipeline-failed"]
        assert [a["state"] for a in failed] == ["trigger"] and checked["delivered"]
        alert_id, dedup_key = failed[0]["id"], failed[0]["dedup_key"]

        assert alert_id in slack.shown()
        assert pagerduty.received()[f"{dedup_key}/trigger"] == 1
        event = pagerduty.arrivals[0].body
        assert event["payload"]["custom_details"]["failing_step"] == "work"
        assert event["payload"]["custom_details"]["exception"] == "ValueError"
        triggered = sns_messages(queue)
        assert [m["id"] for m in triggered] == [alert_id]

        again = run_cli("monitor", "check", "--json", cwd=workdir, env=site)
        assert json.loads(again.stdout)["alerts"] == []  # still failing: nothing new is sent

        assert run_flow(workdir) == 0
        fixed = run_cli("monitor", "check", "--json", cwd=workdir, env=site)
        assert fixed.code == 0, fixed.stderr
        resolved = [a for a in json.loads(fixed.stdout)["alerts"] if a["dedup_key"] == dedup_key]
        assert [a["state"] for a in resolved] == ["resolve"]
        assert pagerduty.received()[f"{dedup_key}/resolve"] == 1
        assert resolved[0]["id"] in slack.shown()
        assert [m["state"] for m in sns_messages(queue)] == ["resolve"]
        assert slack.sent_after_confirmed() == [] and pagerduty.sent_after_confirmed() == []


def test_report_json_and_html_over_real_runs(workdir: Path) -> None:
    assert run_flow(workdir) == 0
    assert run_flow(workdir, "--fail", "True") != 0
    result = run_cli(
        "monitor", "report", "--since", "1d", "--json", "--html", "dash.html", cwd=workdir
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    overall = report["overall"]
    assert (overall["runs"], overall["completed"], overall["failed"]) == (2, 1, 1)
    assert overall["success_rate"] == 0.5
    assert overall["failure_reasons"] == {"work: ValueError": 1}
    assert [p["pipeline"] for p in report["pipelines"]] == ["monitoring_tests.MonitoringTestFlow"]
    with sync_playwright() as play:
        browser = play.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto((workdir / "dash.html").as_uri())
        marks = page.locator(".mark").count()
        browser.close()
    assert marks > 0


def test_bad_window_is_one_line(workdir: Path) -> None:
    result = run_cli("monitor", "report", "--since", "last tuesday", cwd=workdir)
    assert result.code == 2 and "--since 'last tuesday'" in result.stderr
    assert "Traceback" not in result.stderr


def test_alerts_raised_before_any_endpoint_is_configured_are_sent_later(workdir: Path) -> None:
    assert run_flow(workdir, "--fail", "True") != 0
    state = {"MLPLATFORM_ALERTS__STATE_DB": str(workdir / "alerts.sqlite")}
    for _ in range(2):  # kept back, and said so, as long as there is nowhere to send them
        unsent = run_cli("monitor", "check", cwd=workdir, env=state)
        assert unsent.code == 2 and "no alert endpoint is configured" in unsent.stderr
    with running_receiver("slack", "T1/B1/later") as slack:
        site = state | {"MLPLATFORM_SLACK_WEBHOOK_URL": slack.url}
        sent = run_cli("monitor", "check", "--json", cwd=workdir, env=site)
        assert sent.code == 0, sent.stderr
        [alert] = json.loads(sent.stdout)["alerts"]
        assert slack.shown() == [alert["id"]]


def _start(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlplatform.cli.main", "monitor", *args],
        cwd=workdir,
        env=metaflow_env(workdir) | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_exposes_the_report_to_prometheus(workdir: Path) -> None:
    import time
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from tests.conftest import free_port

    assert run_flow(workdir) == 0
    port = free_port()
    proc = _start(workdir, "serve", "--port", str(port), "--interval", "5")
    try:
        deadline, text = time.monotonic() + 60, ""
        # The port opens before the first report is in: wait for the report's series.
        while time.monotonic() < deadline and "mlplatform_runs_total{" not in text:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                time.sleep(0.3)
        samples = {
            (s.name, s.labels.get("pipeline"), s.labels.get("status")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        pipeline = "monitoring_tests.MonitoringTestFlow"
        assert samples[("mlplatform_runs_total", pipeline, "completed")] == 1
        assert samples[("mlplatform_success_rate", pipeline, None)] == 1.0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_watch_keeps_checking_until_stopped(workdir: Path) -> None:
    import signal
    import time

    state = {"MLPLATFORM_ALERTS__STATE_DB": str(workdir / "alerts.sqlite")}
    proc = _start(workdir, "watch", "--every", "1s", env=state)
    time.sleep(8)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    passes = [line for line in out.splitlines() if "run(s)" in line]
    assert len(passes) >= 2, out + err
    assert "Traceback" not in err


def test_unreachable_metadata_database_is_one_line_without_the_password(workdir: Path) -> None:
    from tests.conftest import free_port

    dead = {"MLPLATFORM_METADATA__DATABASE_URL": f"postgresql://monitor:s3cret@127.0.0.1:{free_port()}/metaflow"}  # fmt: skip
    result = run_cli("monitor", "report", cwd=workdir, env=dead)
    assert result.code == 2 and "cannot reach the metadata database" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout and "Traceback" not in result.stderr
