"""Slack incoming webhook: one Block Kit message per alert (built by `format.slack_payload`).

Slack answers 200 `ok`; 429 (with Retry-After) and 5xx are worth retrying; 400
`invalid_payload`, 403 `action_prohibited`, 404 `no_service` and 410 `channel_is_archived`
are not. The webhook URL is the secret: it is kept out of logs, messages and `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from mlplatform.monitoring.notify.format import slack_payload
from mlplatform.monitoring.notify.webhook import keep_out_of_logs, post_json
from mlplatform.monitoring.records import Alert
from mlplatform.secrets import read_secret
from mlplatform.settings import AlertsSettings


@dataclass
class SlackNotifier:
    webhook_url: str = field(repr=False)
    timeout_seconds: float = 10.0
    transport: httpx.BaseTransport | None = field(default=None, repr=False)  # a seam for tests
    name: str = "slack"

    def __post_init__(self) -> None:
        keep_out_of_logs(self.webhook_url)

    @classmethod
    def from_settings(cls, alerts: AlertsSettings) -> SlackNotifier:
        url = read_secret(
            "Slack webhook URL",
            alerts.slack_webhook_env,
            alerts.slack_webhook_secret,
            "alerts.slack_webhook_secret",
        )
        return cls(webhook_url=url)

    def send(self, alert: Alert) -> None:
        post_json(
            self.webhook_url,
            slack_payload(alert),
            endpoint=self.name,
            timeout_seconds=self.timeout_seconds,
            transport=self.transport,
        )
