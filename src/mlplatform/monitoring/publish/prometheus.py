"""Prometheus: `/metrics` from the latest report, refreshed in a background thread.

A scrape never builds a report (that reads the metadata database and can take seconds); it
reads the last good one. A refresh that fails is logged and counted in
`mlplatform_collect_errors_total`, and the last good values stay, so one database blip does not
blank every dashboard; `mlplatform_report_timestamp_seconds` says how old they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mlplatform.errors import PlatformError
from mlplatform.monitoring.metrics import Report

log = logging.getLogger(__name__)
QUANTILES = (("0.5", "p50_seconds"), ("0.95", "p95_seconds"))


class ReportCollector(Collector):
    """Gauges from the latest report it was given; thread-safe between refresh and scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._refreshed_at: float | None = None
        self._errors = 0

    def update(self, report: Report) -> None:
        with self._lock:
            self._report, self._refreshed_at = report, time.time()

    def record_error(self) -> None:
        with self._lock:
            self._errors += 1

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            report, refreshed_at, errors = self._report, self._refreshed_at, self._errors
        yield CounterMetricFamily(
            "mlplatform_collect_errors",
            "Report refreshes that failed since this server started.",
            value=errors,
        )
        if report is not None and refreshed_at is not None:
            yield GaugeMetricFamily(
                "mlplatform_report_timestamp_seconds",
                "Unix time of the last successful report refresh.",
                value=refreshed_at,
            )
            yield from report_metrics(report)


def report_metrics(report: Report) -> list[Metric]:
    """The report's numbers as metric families, one series per pipeline."""
    window = "in the report window"
    runs = _gauge("runs_total", f"Runs {window}, by pipeline and status.", "status")
    success = _gauge("success_rate", f"Completed / (completed + failed) runs {window} (0-1).")
    duration = _gauge("run_duration_seconds", f"Finished runs' durations {window}.", "quantile")
    queue_wait = _gauge("queue_wait_seconds", f"Batch tasks' queue wait {window}.", "quantile")
    cost = _gauge("cost_usd", f"Estimated compute cost {window}, in US dollars.")
    for group in report.by_pipeline:
        for status in ("completed", "failed", "running"):
            runs.add_metric([group.key, status], getattr(group, status))
        if group.success_rate is not None:
            success.add_metric([group.key], group.success_rate)
        for quantile, field in QUANTILES:
            seconds = getattr(group, field)
            if seconds is not None:
                duration.add_metric([group.key, quantile], seconds)
        if group.queue_wait_p50_seconds is not None:
            queue_wait.add_metric([group.key, "0.5"], group.queue_wait_p50_seconds)
        cost.add_metric([group.key], group.cost_usd)
    families: list[Metric] = [runs, success, duration, queue_wait, cost]
    if report.batch_queue_depth is not None:
        families.append(
            GaugeMetricFamily(
                "mlplatform_batch_queue_runnable",
                "Jobs in the RUNNABLE state on the Batch job queue.",
                value=report.batch_queue_depth,
            )
        )
    return families


def _gauge(name: str, documentation: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"mlplatform_{name}", documentation, labels=["pipeline", *labels])


@dataclass
class MetricsServer:
    """A running `/metrics` endpoint; `stop()` ends both the server and the refresher."""

    url: str
    collector: ReportCollector
    _httpd: Any
    _stopping: threading.Event
    _refresher: threading.Thread

    def wait(self) -> None:
        """Block until `stop()` (the CLI's foreground loop; Ctrl-C interrupts it)."""
        while not self._stopping.wait(1.0):
            pass

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._refresher.join(timeout=10)


def serve(
    port: int,
    refresh: Callable[[], Report],
    interval: float = 60.0,
    address: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
) -> MetricsServer:
    """Serve `/metrics` on `address:port`, calling `refresh()` now and every `interval` seconds.

    Loopback by default: the series name users and pipelines, so exposing them to the network
    (`address="0.0.0.0"`) is a choice. Port 0 picks a free port; the returned `url` names it.
    """
    if interval <= 0:
        raise PlatformError(f"refresh interval {interval} is not positive", "use e.g. 60 seconds")
    collector = ReportCollector()
    registry = registry or CollectorRegistry()
    registry.register(collector)
    try:
        httpd, _ = start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        registry.unregister(collector)
        raise PlatformError(
            f"cannot serve metrics on {address}:{port}: {exc.strerror or exc}",
            "choose another port or address, or stop what listens there",
        ) from None
    host, bound_port = str(httpd.server_address[0]), int(httpd.server_address[1])
    stopping = threading.Event()
    _refresh_once(refresh, collector)  # so the first scrape already has numbers

    def refresh_loop() -> None:
        while not stopping.wait(interval):
            _refresh_once(refresh, collector)

    refresher = threading.Thread(target=refresh_loop, name="metrics-refresh", daemon=True)
    refresher.start()
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound_port}/metrics"
    return MetricsServer(url, collector, httpd, stopping, refresher)


def _refresh_once(refresh: Callable[[], Report], collector: ReportCollector) -> None:
    try:
        report = refresh()
    except PlatformError as exc:
        collector.record_error()
        log.warning("metrics refresh failed, keeping the last values: %s", exc.one_line())
    except Exception:
        # A bug, not an outage: keep serving, but leave the traceback in the log.
        collector.record_error()
        log.exception("metrics refresh failed, keeping the last values")
    else:
        collector.update(report)
