"""PagerDuty Events API v2: trigger and resolve events sharing the alert's `dedup_key`.

PagerDuty answers 202 `{"status": "success", "dedup_key": ...}`; 429 and 5xx are worth
retrying, 400 (an invalid event or routing key) is not. PagerDuty deduplicates by
`dedup_key`, so a trigger sent twice opens one incident. The routing key is kept out of logs,
messages and `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from mlplatform.monitoring.notify.format import pagerduty_event
from mlplatform.monitoring.notify.webhook import keep_out_of_logs, post_json
from mlplatform.monitoring.records import Alert
from mlplatform.secrets import read_secret
from mlplatform.settings import AlertsSettings

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass
class PagerDutyNotifier:
    routing_key: str = field(repr=False)
    url: str = EVENTS_URL
    timeout_seconds: float = 10.0
    transport: httpx.BaseTransport | None = field(default=None, repr=False)  # a seam for tests
    name: str = "pagerduty"

    def __post_init__(self) -> None:
        keep_out_of_logs(self.routing_key)

    @classmethod
    def from_settings(cls, alerts: AlertsSettings) -> PagerDutyNotifier:
        key = read_secret(
            "PagerDuty routing key",
            alerts.pagerduty_routing_key_env,
            alerts.pagerduty_routing_key_secret,
            "alerts.pagerduty_routing_key_secret",
        )
        return cls(routing_key=key, url=alerts.pagerduty_url)

    def send(self, alert: Alert) -> None:
        post_json(
            self.url,
            pagerduty_event(alert, self.routing_key),
            endpoint=self.name,
            timeout_seconds=self.timeout_seconds,
            transport=self.transport,
        )
