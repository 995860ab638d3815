"""Each endpoint's payload for an `Alert`: pure functions, snapshot-tested, no I/O, no clock.

Run alerts carry the run's facts in `details` under these keys, shown first and in this order:
`flow`, `run`, `failing_step`, `exception`. Other details follow, sorted by key. Keys that look
like secrets (`password`, `token`, `secret`, `*_key`) are shown as `[redacted]`.

Every payload carries the alert's stable `id` (Slack: the context line; SNS: the `alert_id`
message attribute and the body; PagerDuty: `dedup_key`, shared by trigger and resolve, plus
`alert_id` in `custom_details`), so a person or a receiver can tell a repeat from a new alert.
Texts are clipped to each service's limits.
"""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from mlplatform.monitoring.records import Alert

RUN_FIELDS = {
    "flow": "Flow",
    "run": "Run",
    "failing_step": "Failing step",
    "exception": "Exception",
}
SECRET_MARKERS = ("password", "secret", "token")
SLACK_HEADER_MAX = 150  # Block Kit limits
SLACK_FIELD_MAX = 2000
SLACK_FIELDS_MAX = 10
SLACK_SECTION_MAX = 3000
SLACK_URL_MAX = 3000
PAGERDUTY_SUMMARY_MAX = 1024
SNS_SUBJECT_MAX = 99  # SNS: "less than 100 characters", no line breaks or control characters
SOURCE = "mlplatform"

_ICONS = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Block Kit message: header, run facts as fields, a link button, the alert id."""
    title = _title(alert)
    icon = ":white_check_mark:" if alert.state == "resolve" else _ICONS[alert.severity]
    header = _clip(f"{icon} {title}", SLACK_HEADER_MAX)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
    ]
    if len(f"{icon} {title}") > SLACK_HEADER_MAX:  # the header lost words: show them all
        text = _clip(_escape(alert.summary), SLACK_SECTION_MAX)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    fields = [
        {"type": "mrkdwn", "text": _clip(f"*{label}*\n{_escape(value)}", SLACK_FIELD_MAX)}
        for label, value in shown_details(alert)[:SLACK_FIELDS_MAX]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if alert.link and len(alert.link) <= SLACK_URL_MAX:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": _link_text(alert)},
            "url": alert.link,
            "action_id": "open_link",
        }
        blocks.append({"type": "actions", "elements": [button]})
    context = f"Alert id `{alert.id}` · rule `{_escape(alert.rule)}`"
    if alert.created:
        context += f" · {_utc(alert.created):%Y-%m-%d %H:%M} UTC"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": _clip(title, SLACK_HEADER_MAX), "blocks": blocks}


def pagerduty_event(alert: Alert, routing_key: str) -> dict[str, Any]:
    """An Events API v2 event; trigger and resolve share `dedup_key`, so they pair up."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": alert.state,
        "dedup_key": alert.dedup_key,
    }
    if alert.state == "resolve":  # PagerDuty needs only the key to close the incident
        return event
    payload: dict[str, Any] = {
        "summary": _clip(alert.summary, PAGERDUTY_SUMMARY_MAX),
        "source": SOURCE,
        "severity": alert.severity,
        "class": alert.rule,
        "custom_details": {"alert_id": alert.id, **dict(shown_details(alert, labels=False))},
    }
    if "flow" in alert.details:
        payload["component"] = alert.details["flow"]
    if alert.created:
        payload["timestamp"] = _utc(alert.created).isoformat()
    event |= {"payload": payload, "client": SOURCE}
    if alert.link:
        event["links"] = [{"href": alert.link, "text": _link_text(alert)}]
    return event


def sns_message(alert: Alert) -> tuple[str, str, dict[str, dict[str, str]]]:
    """(subject, body, message attributes): an ASCII one-line subject, the alert as JSON."""
    subject = _clip(" ".join(_ascii(_title(alert)).split()), SNS_SUBJECT_MAX, ellipsis="...")
    visible = alert_to_dict(alert) | {"details": dict(shown_details(alert, labels=False))}
    body = json.dumps(visible, indent=2, sort_keys=True, ensure_ascii=False)
    attributes = {
        name: {"DataType": "String", "StringValue": value}
        for name, value in {
            "alert_id": alert.id,
            "dedup_key": alert.dedup_key,
            "state": alert.state,
            "severity": alert.severity,
            "rule": alert.rule,
        }.items()
        if value  # SNS refuses empty attribute values
    }
    return subject, body, attributes


def shown_details(alert: Alert, labels: bool = True) -> list[tuple[str, str]]:
    """(label or key, value) pairs: run facts first, then the rest by key; secrets redacted."""
    ordered = [key for key in RUN_FIELDS if key in alert.details]
    ordered += sorted(key for key in alert.details if key not in RUN_FIELDS)
    pairs = []
    for key in ordered:
        value = "[redacted]" if _looks_secret(key) else str(alert.details[key])
        label = RUN_FIELDS.get(key, key.replace("_", " ").capitalize()) if labels else key
        pairs.append((label, value))
    return pairs


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """The alert as JSON-ready data (the outbox stores this; `alert_from_dict` reverses it)."""
    created = _utc(alert.created).isoformat() if alert.created else None
    return dataclasses.asdict(alert) | {"created": created}


def alert_from_dict(data: dict[str, Any]) -> Alert:
    created = data.get("created")
    return Alert(
        id=data["id"],
        dedup_key=data["dedup_key"],
        rule=data["rule"],
        state=data["state"],
        severity=data["severity"],
        summary=data["summary"],
        details={str(key): str(value) for key, value in (data.get("details") or {}).items()},
        link=data.get("link"),
        created=datetime.fromisoformat(created) if created else None,
    )


def _title(alert: Alert) -> str:
    status = "Resolved" if alert.state == "resolve" else alert.severity.capitalize()
    return f"{status}: {alert.summary}"


def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS) or lowered.endswith("_key")


def _link_text(alert: Alert) -> str:
    return "Open run" if "run" in alert.details else "Open"


def _clip(text: str, limit: int, ellipsis: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis


def _escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isprintable() or c.isspace()))


def _utc(moment: datetime) -> datetime:
    """Naive times are taken as UTC (the records module's convention)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
