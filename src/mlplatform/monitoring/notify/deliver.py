"""Send what the outbox holds: in creation order, retried, confirmed, or dead-lettered.

Per endpoint, alerts go out oldest first. A retryable failure is retried within the run
(tenacity: exponential backoff with jitter, honouring Retry-After); if it still fails, that
alert gets a `next_attempt_at` (60 s, 120 s, ... up to an hour) and the endpoint is left for
this run, so alerts never overtake each other (a PagerDuty resolve never goes before its
trigger) and a down endpoint costs one alert's retries, not every alert's. A permanent failure
dead-letters that alert, reports it, and the next one is sent. A confirmed alert is never
sent again; one process at a time sends to an endpoint (the outbox's lease).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from mlplatform.monitoring.notify import (
    DeliveryError,
    Notifier,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from mlplatform.monitoring.notify.outbox import Outbox
from mlplatform.monitoring.records import Alert
from mlplatform.settings import AlertsSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    wait_initial: float = 1.0  # within a run: tenacity's exponential backoff with jitter
    wait_max: float = 30.0
    jitter: float = 1.0
    backoff_initial: float = 60.0  # across runs: doubles per failed run
    backoff_max: float = 3600.0
    lease_seconds: float = 600.0  # how long one process may hold an endpoint without renewing

    def backoff(self, failures: int) -> timedelta:
        seconds = self.backoff_initial * 2 ** max(failures - 1, 0)
        return timedelta(seconds=min(seconds, self.backoff_max))


@dataclass(frozen=True)
class Failure:
    alert_id: str
    endpoint: str
    error: str
    next_attempt_at: datetime | None  # None: dead-lettered


@dataclass
class DeliveryResult:
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (alert id, endpoint)
    retrying: list[Failure] = field(default_factory=list)  # failed, still pending
    dead: list[Failure] = field(default_factory=list)  # refused for good: fix, then requeue
    waiting: dict[str, int] = field(default_factory=dict)  # endpoint -> pending, not tried now
    unconfigured: dict[str, int] = field(default_factory=dict)  # pending, no notifier given

    @property
    def ok(self) -> bool:
        """Everything pending went out: nothing failing, dead, waiting or without a notifier."""
        return not (self.retrying or self.dead or any(self.waiting.values()) or self.unconfigured)

    def summary(self) -> str:
        parts = [f"{len(self.delivered)} delivered"]
        parts += [f"{f.endpoint} failing ({f.error}), will retry" for f in self.retrying]
        parts += [f"{f.alert_id} dead-lettered at {f.endpoint} ({f.error})" for f in self.dead]
        parts += [f"{n} waiting for {endpoint}" for endpoint, n in self.waiting.items() if n]
        parts += [
            f"{n} queued for {e}, which is not configured" for e, n in self.unconfigured.items()
        ]
        return "; ".join(parts)


def deliver_pending(
    outbox: Outbox,
    notifiers: Sequence[Notifier],
    *,
    max_attempts_per_run: int = 3,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send every due pending alert to its endpoint; see the module docstring for the rules."""
    now = now or datetime.now(UTC)
    policy = policy or RetryPolicy()
    result = DeliveryResult()
    holder = uuid.uuid4().hex
    for notifier in notifiers:
        lease = _Lease(outbox, notifier.name, holder, policy.lease_seconds)
        if not lease.keep():
            result.waiting[notifier.name] = len(outbox.pending(notifier.name))  # another sends
            continue
        try:
            send = _Sender(notifier, policy, max_attempts_per_run, sleep)
            _deliver_endpoint(outbox, send, lease, now, policy, result)
        finally:
            outbox.release(notifier.name, holder)
    configured = {n.name for n in notifiers}
    for backlog in outbox.backlog():
        if backlog.endpoint not in configured and backlog.pending:
            result.unconfigured[backlog.endpoint] = backlog.pending
    return result


def _deliver_endpoint(
    outbox: Outbox,
    send: _Sender,
    lease: _Lease,
    now: datetime,
    policy: RetryPolicy,
    result: DeliveryResult,
) -> None:
    endpoint = send.notifier.name
    entries = outbox.pending(endpoint)
    for index, entry in enumerate(entries):
        if entry.next_attempt_at and entry.next_attempt_at > now:
            result.waiting[endpoint] = len(entries) - index  # backing off: keep the order
            return
        if not lease.keep():  # expired and taken over by another process
            result.waiting[endpoint] = len(entries) - index
            return
        error, attempts = send(entry.alert)
        alert_id = entry.alert.id
        if error is None:
            outbox.confirm(alert_id, endpoint)
            result.delivered.append((alert_id, endpoint))
        elif isinstance(error, PermanentDeliveryError):
            outbox.record_failure(
                alert_id,
                endpoint,
                str(error),
                attempts=attempts,
                next_attempt_at=None,
                permanent=True,
            )
            result.dead.append(Failure(alert_id, endpoint, str(error), None))
            log.error("alert %s dead-lettered at %s: %s", alert_id, endpoint, error)
        else:
            delay = policy.backoff(entry.failures + 1)
            if error.retry_after:
                delay = max(delay, timedelta(seconds=error.retry_after))
            next_at = now + delay
            outbox.record_failure(
                alert_id, endpoint, str(error), attempts=attempts, next_attempt_at=next_at
            )
            result.retrying.append(Failure(alert_id, endpoint, str(error), next_at))
            result.waiting[endpoint] = len(entries) - index - 1
            log.warning("%s still failing, retry after %s: %s", endpoint, next_at, error)
            return


@dataclass
class _Lease:
    """This run's right to send to one endpoint, renewed once half of it has passed."""

    outbox: Outbox
    endpoint: str
    holder: str
    seconds: float
    renewed: float = -float("inf")

    def keep(self) -> bool:
        if time.monotonic() - self.renewed < self.seconds / 2:
            return True
        if not self.outbox.acquire(self.endpoint, self.holder, self.seconds):
            return False
        self.renewed = time.monotonic()
        return True


@dataclass
class _Sender:
    """One notifier with the within-run retry policy: `send(alert) -> (error or None, tries)`."""

    notifier: Notifier
    policy: RetryPolicy
    max_attempts: int
    sleep: Callable[[float], None]

    def __call__(self, alert: Alert) -> tuple[DeliveryError | None, int]:
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableDeliveryError),
            stop=stop_after_attempt(max(self.max_attempts, 1)),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        tries = 0
        try:
            for attempt in retrying:
                with attempt:
                    tries += 1
                    self.notifier.send(alert)
        except DeliveryError as exc:
            return exc, tries
        except Exception as exc:  # a bug in a sender must not lose the alert: keep it pending
            log.exception(
                "%s raised an unexpected error for alert %s", self.notifier.name, alert.id
            )
            return RetryableDeliveryError(f"{self.notifier.name}: {type(exc).__name__}"), tries
        return None, tries

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, but never sooner than the endpoint's Retry-After."""
        exponential = wait_exponential_jitter(
            multiplier=self.policy.wait_initial, max=self.policy.wait_max, jitter=self.policy.jitter
        )
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None) or 0.0
        return float(min(max(exponential(state), asked), self.policy.wait_max))


def notify(
    alerts: Sequence[Alert],
    outbox: Outbox,
    notifiers: Sequence[Notifier],
    *,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
) -> DeliveryResult:
    """Queue `alerts` for every notifier, then deliver everything pending."""
    endpoints = [n.name for n in notifiers]
    for alert in alerts:
        outbox.enqueue(alert, endpoints)
    return deliver_pending(outbox, notifiers, now=now, policy=policy)


def configured_notifiers(alerts: AlertsSettings) -> list[Notifier]:
    """A notifier for each endpoint the settings name (reading their secrets now)."""
    from mlplatform.monitoring.notify.pagerduty import PagerDutyNotifier
    from mlplatform.monitoring.notify.slack import SlackNotifier
    from mlplatform.monitoring.notify.sns import SnsNotifier

    notifiers: list[Notifier] = []
    if alerts.sns_topic_arn:
        notifiers.append(SnsNotifier(topic_arn=alerts.sns_topic_arn))
    if alerts.slack_webhook_secret or os.environ.get(alerts.slack_webhook_env):
        notifiers.append(SlackNotifier.from_settings(alerts))
    if alerts.pagerduty_routing_key_secret or os.environ.get(alerts.pagerduty_routing_key_env):
        notifiers.append(PagerDutyNotifier.from_settings(alerts))
    return notifiers
