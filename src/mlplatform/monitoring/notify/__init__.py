"""Alert notifiers (SNS, Slack, PagerDuty), the outbox that holds alerts until delivered, and
the delivery loop.

- `format.py` turns an `Alert` into each endpoint's payload; it is pure and snapshot-tested.
- `sns.py`, `slack.py`, `pagerduty.py` are thin senders: one request per alert, the answer
  sorted into "try again" (`RetryableDeliveryError`) or "never will work"
  (`PermanentDeliveryError`). They never log a webhook URL or routing key.
- `outbox.py` keeps one row per (alert id, endpoint) in SQLite until the endpoint confirms.
- `deliver.py` sends what is pending, retries with backoff and jitter, confirms, dead-letters.

Delivery is at least once: an alert's `id` (and PagerDuty's `dedup_key`) travels with every
copy, so a receiver that deduplicates shows it once; a confirmed alert is never sent again.
"""

from __future__ import annotations

from typing import Protocol

from mlplatform.monitoring.records import Alert


class DeliveryError(Exception):
    """An endpoint did not take an alert. The message never contains a secret."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the endpoint asked us to wait (Retry-After)


class RetryableDeliveryError(DeliveryError):
    """Worth trying again: a timeout, a refused connection, 429 or 5xx."""


class PermanentDeliveryError(DeliveryError):
    """The same request will never succeed (400, 403, 404, a missing topic): dead-letter it."""


class Notifier(Protocol):
    """One endpoint. `name` keys the outbox rows ("sns", "slack", "pagerduty")."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver `alert` once, or raise `RetryableDeliveryError` / `PermanentDeliveryError`."""
        ...


__all__ = [
    "DeliveryError",
    "Notifier",
    "PermanentDeliveryError",
    "RetryableDeliveryError",
]
