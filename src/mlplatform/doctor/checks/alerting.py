"""Alerting: the SNS topic answers, the webhook secrets are in place, and the outbox drains.

Nothing is sent: the webhook URL and the routing key are only read, never used. The outbox is
read only when its file exists, so a doctor run never creates one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.errors import PlatformError
from mlplatform.settings import AlertsSettings, Settings, home

# An alert still undelivered after this long means an endpoint has been failing for a while.
OUTBOX_MAX_AGE_MINUTES = 30


def outbox_path(alerts: AlertsSettings) -> Path:
    """The same file `Outbox.from_settings` uses."""
    if alerts.state_db:
        return Path(alerts.state_db).expanduser()
    return home() / "monitoring" / "alerts.sqlite"


def outbox_problems(path: Path, now: datetime) -> tuple[list[str], list[str]]:
    """(problems, details) for the outbox at `path`: dead letters, or alerts waiting too long."""
    if not path.is_file():
        return [], [f"outbox {path}: none yet (nothing ever queued)"]
    from mlplatform.monitoring.notify.outbox import Outbox

    problems, details = [], []
    backlog = Outbox(path).backlog()
    if not backlog:
        details.append(f"outbox {path}: empty")
    for entry in backlog:
        age = ""
        minutes = 0
        if entry.oldest_pending is not None:
            minutes = int((now - entry.oldest_pending).total_seconds() // 60)
            age = f", oldest {minutes} min"
        details.append(f"outbox {entry.endpoint}: {entry.pending} pending, {entry.dead} dead{age}")
        if entry.dead:
            problems.append(f"{entry.dead} alert(s) to {entry.endpoint} refused for good")
        if minutes > OUTBOX_MAX_AGE_MINUTES:
            problems.append(
                f"{entry.pending} alert(s) to {entry.endpoint} undelivered, oldest {minutes} min"
            )
    return problems, details


def _secret_state(what: str, env_name: str, secret_id: str | None, setting: str) -> str | None:
    """'configured', None when not configured, or raises when a named secret cannot be read."""
    if secret_id:
        from mlplatform.secrets import read_secret

        read_secret(what, env_name, secret_id, setting)
        return f"{what}: secret {secret_id} readable"
    if os.environ.get(env_name, "").strip():
        return f"{what}: set in {env_name}"
    return None


def _run(settings: Settings) -> Finding:
    alerts = settings.alerts
    slack_named = alerts.slack_webhook_secret or os.environ.get(alerts.slack_webhook_env, "")
    pager_named = alerts.pagerduty_routing_key_secret or os.environ.get(
        alerts.pagerduty_routing_key_env, ""
    )
    if not (alerts.sns_topic_arn or slack_named or pager_named or alerts.state_db):
        return Finding.not_configured("no alert destination: no SNS topic, Slack or PagerDuty")
    problems: list[str] = []
    details: list[str] = []
    action: str | None = None
    if alerts.sns_topic_arn:
        from mlplatform import aws

        try:
            with aws.calling(
                "sns",
                f"reading topic {alerts.sns_topic_arn}",
                hints={
                    "NotFound": "create the topic (Terraform module alerts) or fix "
                    "alerts.sns_topic_arn"
                },
            ):
                aws.client("sns").get_topic_attributes(TopicArn=alerts.sns_topic_arn)
            details.append(f"SNS topic {alerts.sns_topic_arn}: reachable")
        except PlatformError as exc:
            problems.append(exc.headline)
            action = exc.hint
    endpoints = [
        (
            "Slack webhook",
            alerts.slack_webhook_env,
            alerts.slack_webhook_secret,
            "alerts.slack_webhook_secret",
        ),
        (
            "PagerDuty routing key",
            alerts.pagerduty_routing_key_env,
            alerts.pagerduty_routing_key_secret,
            "alerts.pagerduty_routing_key_secret",
        ),
    ]
    configured = bool(alerts.sns_topic_arn)
    for what, env_name, secret_id, setting in endpoints:
        try:
            state = _secret_state(what, env_name, secret_id, setting)
        except PlatformError as exc:
            problems.append(exc.headline)
            action = action or exc.hint
            continue
        configured = configured or state is not None
        details.append(state or f"{what}: not configured ({env_name} unset)")
    if not configured and not problems:
        problems.append("no alert destination configured: alerts reach nobody")
        action = "set alerts.sns_topic_arn, or the Slack webhook / PagerDuty routing key secret"
    try:
        backed_up, shown = outbox_problems(outbox_path(alerts), datetime.now(UTC))
    except PlatformError as exc:
        backed_up, shown = [exc.headline], []
    problems += backed_up
    details += shown
    if backed_up and action is None:
        action = "fix the failing endpoint (see last_error), then mlplatform monitor check delivers"
        action += " the backlog; requeue dead alerts once fixed"
    if problems:
        return Finding.failed("; ".join(problems), *details, action=action)
    return Finding.passed("alert destinations configured and the outbox drains", *details)


CHECK = Check(
    id="alerting",
    title="Alerting",
    checks="The SNS topic answers get_topic_attributes, the Slack webhook and PagerDuty routing "
    "key are set where configured, and no alert waits in the outbox longer than "
    f"{OUTBOX_MAX_AGE_MINUTES} minutes.",
    action="Fix the failing destination named in the finding; the outbox keeps alerts and "
    "delivers them on the next monitor check.",
    severity=Severity.WARNING,
    time_to_resolve="30 minutes",
    run=_run,
)
