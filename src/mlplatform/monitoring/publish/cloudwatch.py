"""CloudWatch: a report's numbers as custom metrics, and JSON audit events in CloudWatch Logs.

Metrics are gauges over the report's window, stamped with its end (`until`): read them with
the Average or Maximum statistic, never Sum, since each publication repeats the whole window.
Clients take their endpoint from boto3's own settings (`AWS_ENDPOINT_URL`, ...) and fail within
seconds on a dead endpoint; every AWS failure becomes one `PlatformError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from mlplatform import aws
from mlplatform.errors import PlatformError
from mlplatform.monitoring.metrics import GroupMetrics, Report

MAX_METRIC_DATA = 1000  # PutMetricData: metric data points per request
MAX_METRIC_BYTES = 900_000  # PutMetricData: 1 MB per request, less room for the envelope
MAX_DIMENSION_VALUE = 1024
MAX_LOG_EVENTS = 10_000  # PutLogEvents: events per request
MAX_LOG_BATCH_BYTES = 1_048_576  # PutLogEvents: sum of UTF-8 messages + 26 bytes per event
LOG_EVENT_OVERHEAD = 26
MAX_LOG_EVENT_BYTES = 262_144 - LOG_EVENT_OVERHEAD  # the long-standing per-event limit
MAX_LOG_SPAN_MS = 24 * 3600 * 1000  # one request may not span more than 24 hours

# (metric name, CloudWatch unit, value of one group); None values are not published.
GROUP_METRICS: list[tuple[str, str, Callable[[GroupMetrics], float | None]]] = [
    ("Runs", "Count", lambda g: g.runs),
    ("CompletedRuns", "Count", lambda g: g.completed),
    ("FailedRuns", "Count", lambda g: g.failed),
    ("RunningRuns", "Count", lambda g: g.running),
    ("SuccessRate", "Percent", lambda g: None if g.success_rate is None else 100 * g.success_rate),
    ("DurationP50", "Seconds", lambda g: g.p50_seconds),
    ("DurationP95", "Seconds", lambda g: g.p95_seconds),
    ("QueueWaitP50", "Seconds", lambda g: g.queue_wait_p50_seconds),
    ("CostUSD", "None", lambda g: g.cost_usd),
    ("CpuSeconds", "Seconds", lambda g: g.cpu_seconds),
]


def cloudwatch_client(service: str) -> Any:
    return aws.client(service)


calling = aws.calling


def metric_data(report: Report, timestamp: datetime | None = None) -> list[dict[str, Any]]:
    """Every data point for `report`: overall, then per pipeline and per user."""
    at = timestamp or report.until
    groups: list[tuple[GroupMetrics, list[dict[str, str]]]] = [(report.overall, [])]
    groups += [(g, [_dimension("Pipeline", g.key)]) for g in report.by_pipeline]
    groups += [(g, [_dimension("User", g.key)]) for g in report.by_user]
    data = []
    for group, dimensions in groups:
        for name, unit, value_of in GROUP_METRICS:
            value = value_of(group)
            # CloudWatch rejects NaN and infinities; an unknown value is simply not sent.
            if value is not None and math.isfinite(value):
                data.append(_datum(name, unit, float(value), dimensions, at))
    if report.batch_queue_depth is not None:
        data.append(_datum("BatchQueueDepth", "Count", report.batch_queue_depth, [], at))
    return data


def publish_metrics(report: Report, namespace: str, client: Any | None = None) -> int:
    """Put the report's metrics into `namespace`; returns how many data points were sent."""
    if not 1 <= len(namespace) <= 255 or namespace.startswith("AWS/"):
        raise PlatformError(
            f"CloudWatch namespace {namespace!r} is not usable (1-255 chars, not AWS/...)",
            "set monitoring.cloudwatch_namespace to your own name, e.g. MLPlatform",
        )
    data = metric_data(report)
    cloudwatch = client or cloudwatch_client("cloudwatch")
    for batch in _metric_batches(data):
        with calling("CloudWatch", f"putting {len(batch)} metrics into {namespace}"):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)
    return len(data)


def _dimension(name: str, value: str) -> dict[str, str]:
    return {"Name": name, "Value": (value or "unknown")[:MAX_DIMENSION_VALUE]}


def _datum(
    name: str, unit: str, value: float, dimensions: list[dict[str, str]], at: datetime
) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": dimensions,
        "Timestamp": at,
        "Value": value,
        "Unit": unit,
    }


def _metric_batches(data: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for datum in data:
        # JSON length over-estimates neither protocol by much; it only guards the 1 MB cap.
        datum_size = len(json.dumps(datum, default=str))
        if batch and (len(batch) == MAX_METRIC_DATA or size + datum_size > MAX_METRIC_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(datum)
        size += datum_size
    if batch:
        yield batch


class AuditLogWriter:
    """JSON audit events to one CloudWatch Logs stream, buffered until `flush()`.

    Use it as a context manager so the events are sent on exit. The group and stream are
    created when a write finds them missing. Not shared between threads: one writer each.
    """

    def __init__(self, log_group: str, stream: str, client: Any | None = None) -> None:
        self.log_group = log_group
        self.stream = stream
        self._client = client
        self._pending: list[tuple[int, str]] = []  # (epoch milliseconds, JSON message)

    def write(self, event: Mapping[str, Any], at: datetime | None = None) -> None:
        """Queue one event; `at` (default: now) is its CloudWatch timestamp."""
        when = at or datetime.now(UTC)
        message = json.dumps(dict(event), sort_keys=True, default=str, ensure_ascii=False)
        encoded = message.encode()
        if len(encoded) > MAX_LOG_EVENT_BYTES:
            # An audit trail must not lose the event, nor may one event sink the whole batch.
            # Re-quoting can grow text up to 6x (\u escapes), hence an eighth of the limit.
            head = encoded[: MAX_LOG_EVENT_BYTES // 8].decode(errors="ignore")
            message = json.dumps({"truncated": True, "bytes": len(encoded), "head": head})
        self._pending.append((int(when.timestamp() * 1000), message))

    def flush(self) -> int:
        """Send every queued event, oldest first; returns how many were sent."""
        if not self._pending:
            return 0
        logs = self._client = self._client or cloudwatch_client("logs")
        self._pending.sort(key=lambda event: event[0])  # stable: equal times keep their order
        sent = 0
        while self._pending:
            batch = self._next_batch()
            reply = self._put(logs, batch)
            # Drop only what was sent, so a retry after a failure repeats nothing.
            del self._pending[: len(batch)]
            sent += len(batch)
            rejected = reply.get("rejectedLogEventsInfo")
            if rejected:
                raise PlatformError(
                    f"CloudWatch Logs rejected audit events in {self.log_group}: {rejected}",
                    "check this host's clock and the log group's retention",
                )
        return sent

    def __enter__(self) -> AuditLogWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()

    def _next_batch(self) -> list[tuple[int, str]]:
        batch: list[tuple[int, str]] = []
        size = 0
        for ts, message in self._pending:
            event_size = len(message.encode()) + LOG_EVENT_OVERHEAD
            if batch and (
                len(batch) == MAX_LOG_EVENTS
                or size + event_size > MAX_LOG_BATCH_BYTES
                or ts - batch[0][0] > MAX_LOG_SPAN_MS
            ):
                break
            batch.append((ts, message))
            size += event_size
        return batch

    def _put(self, logs: Any, batch: list[tuple[int, str]]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        group = {"logGroupName": self.log_group}
        stream = group | {"logStreamName": self.stream}
        events = [{"timestamp": ts, "message": msg} for ts, msg in batch]
        with calling("CloudWatch Logs", f"writing audit events to {self.log_group}"):
            # Creating only on a miss: a writer role then needs no CreateLogGroup once it exists.
            try:
                return dict(logs.put_log_events(**stream, logEvents=events))
            except ClientError as exc:
                if _error_code(exc) != "ResourceNotFoundException":
                    raise
            for create, names in [(logs.create_log_group, group), (logs.create_log_stream, stream)]:
                try:
                    create(**names)
                except ClientError as exc:
                    if _error_code(exc) != "ResourceAlreadyExistsException":
                        raise
            return dict(logs.put_log_events(**stream, logEvents=events))


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
