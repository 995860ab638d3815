"""One monitoring pass: collect runs, measure them, evaluate the rules, queue and send alerts.

`monitor check` runs this once (cron, an EventBridge-scheduled ECS task); `monitor watch`
repeats it. The order makes an outage cost delay, never alerts: rule state and the outbox
share one SQLite file, alerts are queued before they are sent, and whatever an endpoint has
not confirmed is sent again by the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from mlplatform.errors import PlatformError
from mlplatform.monitoring.cost import PriceTable
from mlplatform.monitoring.evaluate import Observation, evaluate
from mlplatform.monitoring.metrics import Report
from mlplatform.monitoring.notify.deliver import DeliveryResult, configured_notifiers, notify
from mlplatform.monitoring.notify.outbox import Outbox
from mlplatform.monitoring.records import Alert, RunCollector, RunRecord
from mlplatform.monitoring.report_data import build_report
from mlplatform.monitoring.rule_state import RuleState
from mlplatform.monitoring.rules import configured_rules, lookback
from mlplatform.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Gathered:
    records: list[RunRecord]
    report: Report
    unreachable: dict[str, str] = field(default_factory=dict)  # endpoint -> error line
    checked: set[str] = field(default_factory=set)  # endpoints probed this pass


@dataclass
class CheckResult:
    gathered: Gathered
    alerts: list[Alert]
    delivery: DeliveryResult
    endpoints: list[str]


def collector_for(settings: Settings) -> RunCollector:
    """The SQL collector when a metadata database is configured, else the client API."""
    if settings.metadata.database_url:
        from mlplatform.monitoring.collect_sql import SqlCollector

        return SqlCollector.from_settings(settings)
    from mlplatform.monitoring.collect_client import ClientCollector

    return ClientCollector(heartbeat_cutoff_seconds=settings.monitoring.heartbeat_cutoff_seconds)


def gather(
    settings: Settings,
    since: datetime,
    until: datetime,
    flows: list[str] | None = None,
    collector: RunCollector | None = None,
) -> Gathered:
    """Runs since `since` and their report; endpoints that failed are named, not raised."""
    unreachable: dict[str, str] = {}
    checked: set[str] = set()
    if settings.metadata.service_url:
        checked.add("metadata_service")
        if problem := _ping_service(settings.metadata.service_url):
            unreachable["metadata_service"] = problem
    collector = collector or collector_for(settings)
    try:
        records = collector.collect(since, flows)
        if settings.metadata.database_url:
            checked.add("metadata_database")
    except PlatformError as exc:
        if not settings.metadata.database_url:
            raise  # the client API over local metadata: nothing to alert on, a user error
        checked.add("metadata_database")
        unreachable["metadata_database"] = exc.one_line()
        records = []
    depth = _queue_depth(settings)
    prices = PriceTable.load(settings)
    report = build_report(
        records, since, until, prices, settings.monitoring.cpu_second_price, depth
    )
    return Gathered(records, report, unreachable, checked)


def run_check(settings: Settings, now: datetime | None = None) -> CheckResult:
    now = now or datetime.now(UTC)
    rules = configured_rules(settings)
    gathered = gather(settings, now - lookback(rules), now)
    observation = Observation(
        now=now,
        records=gathered.records,
        report=gathered.report,
        batch_queue_depth=gathered.report.batch_queue_depth,
        unreachable=gathered.unreachable,
        link_template=settings.alerts.run_link_template,
        checked_endpoints=frozenset(gathered.checked),
    )
    results = evaluate(rules, observation, daily_budget=settings.monitoring.daily_budget)
    notifiers = configured_notifiers(settings.alerts)
    outbox = Outbox.from_settings(settings.alerts)
    endpoints = [n.name for n in notifiers]
    state = RuleState.from_settings(settings)
    if endpoints:
        # Queued inside dispatch, before the rule state marks them sent: a crash in between
        # re-emits the same ids, which the outbox ignores.
        alerts = state.dispatch(
            results, now, lambda new: [outbox.enqueue(alert, endpoints) for alert in new]
        )
    else:  # nowhere to queue them: left unsent, so the first check with an endpoint sends them
        alerts = state.step(results, now)
    delivery = notify([], outbox, notifiers, now=now)
    if settings.monitoring.publish_cloudwatch:
        _publish(settings, gathered.report, alerts)
    return CheckResult(gathered, alerts, delivery, endpoints)


def _publish(settings: Settings, report: Report, alerts: list[Alert]) -> None:
    from mlplatform.monitoring.publish import AuditLogWriter, publish_metrics

    publish_metrics(report, settings.monitoring.cloudwatch_namespace)
    with AuditLogWriter(settings.monitoring.log_group, "monitor-check") as audit:
        for alert in alerts:
            audit.write(
                {
                    "event": f"alert.{alert.state}",
                    "alert_id": alert.id,
                    "dedup_key": alert.dedup_key,
                    "rule": alert.rule,
                    "severity": alert.severity,
                    "summary": alert.summary,
                }
            )


def _ping_service(url: str) -> str | None:
    try:
        response = httpx.get(url.rstrip("/") + "/ping", timeout=5.0)
    except httpx.HTTPError as exc:
        return f"cannot reach the metadata service at {url}: {type(exc).__name__}"
    if response.status_code != 200:
        return f"the metadata service at {url} answered {response.status_code} to /ping"
    return None


def _queue_depth(settings: Settings) -> int | None:
    if not settings.batch.job_queue:
        return None
    from mlplatform.monitoring.batch_queue import runnable_jobs

    try:
        return runnable_jobs(settings.batch.job_queue)
    except PlatformError as exc:
        log.warning("Batch queue depth unknown: %s", exc.one_line())
        return None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`7d`, `24h`, `90m` or an ISO date/time -> the UTC start of the window."""
    from mlplatform.monitoring.rules import parse_duration

    now = now or datetime.now(UTC)
    try:
        return now - parse_duration(text)
    except (ValueError, PlatformError):
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PlatformError(
            f"--since {text!r}: not a duration or a date",
            "use a duration like 7d, 24h, 90m, or a date like 2026-11-01",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["CheckResult", "Gathered", "gather", "parse_since", "run_check"]
