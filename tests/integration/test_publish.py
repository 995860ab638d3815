"""Publishing a report: CloudWatch metrics and audit logs (moto server), Prometheus /metrics."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlplatform.errors import PlatformError
from mlplatform.monitoring.metrics import Report
from mlplatform.monitoring.publish import AuditLogWriter, publish_metrics, serve
from tests.conftest import free_port
from tests.report_samples import group, sample_report


class Recording:
    """A real boto3 client that also remembers the arguments of one operation's calls."""

    def __init__(self, client: Any, operation: str) -> None:
        self._client, self._operation = client, operation
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._operation:
            return method

        def record(**params: Any) -> Any:
            self.calls.append(params)
            return method(**params)

        return record


def recent_report() -> Report:
    # CloudWatch keeps data points of the last two weeks only; stamp the window "now".
    return sample_report(until=datetime.now(UTC).replace(microsecond=0))


def test_metrics_land_in_the_namespace_with_pipeline_and_user_dimensions(aws: str) -> None:
    namespace = f"MLPlatform-{uuid.uuid4().hex[:8]}"
    report = recent_report()

    sent = publish_metrics(report, namespace)

    cloudwatch = boto3.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    dimensions = {(d["Name"], d["Value"]) for m in listed for d in m["Dimensions"]}
    assert {("Pipeline", g.key) for g in report.by_pipeline} <= dimensions
    assert {("User", g.key) for g in report.by_user} <= dimensions
    assert {m["MetricName"] for m in listed} >= {"SuccessRate", "CostUSD", "BatchQueueDepth"}
    assert len(listed) == sent
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="SuccessRate",
        Dimensions=[{"Name": "Pipeline", "Value": "growth.d7_purchase"}],
        StartTime=report.until - timedelta(minutes=5),
        EndTime=report.until + timedelta(minutes=5),
        Period=60,
        Statistics=["Average"],
    )["Datapoints"]
    assert [(p["Average"], p["Unit"]) for p in stats] == [(80.0, "Percent")]
    overall_runs = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="Runs",
        Dimensions=[],
        StartTime=report.until - timedelta(minutes=5),
        EndTime=report.until + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [p["Maximum"] for p in overall_runs] == [report.overall.runs]


def test_many_pipelines_are_sent_in_batches_within_the_api_limit(aws: str) -> None:
    namespace = f"MLPlatform-{uuid.uuid4().hex[:8]}"
    pipelines = [group(f"project.flow_{i:03d}", 3, 1, cost=0.5) for i in range(150)]
    report = replace(recent_report(), by_pipeline=pipelines)
    client = Recording(boto3.client("cloudwatch"), "put_metric_data")

    sent = publish_metrics(report, namespace, client=client)

    sizes = [len(call["MetricData"]) for call in client.calls]
    assert sum(sizes) == sent > 1000
    assert len(sizes) >= 2 and max(sizes) <= 1000
    pages = boto3.client("cloudwatch").get_paginator("list_metrics").paginate(Namespace=namespace)
    assert sum(len(page["Metrics"]) for page in pages) == sent


def test_cloudwatch_failures_are_one_line(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PlatformError, match="not usable"):
        publish_metrics(recent_report(), "AWS/EC2")

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PlatformError) as raised:
        publish_metrics(recent_report(), "MLPlatform")
    assert "cannot reach AWS" in raised.value.one_line()
    assert "\n" not in raised.value.one_line()


def read_events(group_name: str, stream: str) -> list[dict[str, Any]]:
    reply = boto3.client("logs").get_log_events(
        logGroupName=group_name, logStreamName=stream, startFromHead=True
    )
    return [json.loads(event["message"]) | {"_ts": event["timestamp"]} for event in reply["events"]]


def test_audit_events_are_created_in_order_across_batches(aws: str) -> None:
    group_name = f"/mlplatform/audit-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    client = Recording(boto3.client("logs"), "put_log_events")
    # Written out of order and spanning more than a day: one request may span 24 h at most.
    times = [now - timedelta(hours=1), now - timedelta(hours=30), now, now - timedelta(hours=2)]

    with AuditLogWriter(group_name, "monitor", client=client) as writer:
        for index, at in enumerate(times):
            writer.write({"event": "run.finished", "index": index, "user": "alice"}, at=at)

    events = read_events(group_name, "monitor")
    assert [e["index"] for e in events] == [1, 3, 0, 2]  # oldest first
    assert [e["_ts"] for e in events] == sorted(int(t.timestamp() * 1000) for t in times)
    assert events[0] == {
        "event": "run.finished",
        "index": 1,
        "user": "alice",
        "_ts": events[0]["_ts"],
    }
    assert [len(call["logEvents"]) for call in client.calls] == [1, 1, 3]  # miss, create, retry


def test_audit_writer_adds_a_stream_to_an_existing_group(aws: str) -> None:
    group_name = f"/mlplatform/audit-{uuid.uuid4().hex[:8]}"
    boto3.client("logs").create_log_group(logGroupName=group_name)

    writer = AuditLogWriter(group_name, "host-a")
    writer.write({"event": "report.published", "detail": "<b>ünïcode</b>"})
    assert writer.flush() == 1
    assert writer.flush() == 0  # nothing is sent twice

    assert [e["detail"] for e in read_events(group_name, "host-a")] == ["<b>ünïcode</b>"]


# --- Prometheus -----------------------------------------------------------------------------


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def failing_after_first(report: Report) -> Callable[[], Report]:
    calls = 0

    def refresh() -> Report:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise PlatformError("metadata database unreachable", "start it")
        return report

    return refresh


def test_metrics_endpoint_serves_the_report_and_keeps_it_when_a_refresh_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = sample_report()
    caplog.set_level(logging.WARNING)
    server = serve(free_port(), failing_after_first(report), interval=0.2)
    try:
        first = scrape(server.url)
        deadline = time.monotonic() + 10
        while scrape(server.url)[("mlplatform_collect_errors_total", ())] < 2:
            assert time.monotonic() < deadline, "the refresher never ran again"
            time.sleep(0.1)
        later = scrape(server.url)
    finally:
        server.stop()

    assert first[("mlplatform_collect_errors_total", ())] == 0
    pipeline = (("pipeline", "growth.d7_purchase"),)
    for values in (first, later):
        assert values[("mlplatform_runs_total", (*pipeline, ("status", "completed")))] == 8
        assert values[("mlplatform_runs_total", (*pipeline, ("status", "failed")))] == 2
        assert values[("mlplatform_success_rate", pipeline)] == 0.8
        assert values[("mlplatform_run_duration_seconds", (*pipeline, ("quantile", "0.95")))] == 360
        assert values[("mlplatform_cost_usd", (("pipeline", "ltv.forecast"),))] == 1.5
        assert values[("mlplatform_batch_queue_runnable", ())] == 7
    # churn.scoring finished nothing successfully, but did finish: 0 %, not absent.
    assert later[("mlplatform_success_rate", (("pipeline", "churn.scoring"),))] == 0
    assert (
        later[("mlplatform_report_timestamp_seconds", ())]
        == first[("mlplatform_report_timestamp_seconds", ())]
    )
    assert "metadata database unreachable" in caplog.text


def test_a_taken_port_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PlatformError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            serve(port, sample_report, interval=60)
