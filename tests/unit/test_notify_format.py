"""Alert payloads (Slack Block Kit, PagerDuty Events v2, SNS) against committed snapshots.

Inputs are recorded alerts in `tests/snapshots/notify/alerts/<case>.json`; the expected
payloads are `tests/snapshots/notify/<case>.json`. The tests only compare: a missing snapshot
fails with instructions. To add one, record the alert, run
`.venv/bin/python -m tests.unit.test_notify_format --write` (it writes missing snapshots only),
read the new file, and commit it. To change one on purpose, delete it and do the same.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlplatform.monitoring.notify.format import (
    alert_from_dict,
    alert_to_dict,
    pagerduty_event,
    slack_payload,
    sns_message,
)
from mlplatform.monitoring.records import Alert

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "notify"
RECORDED = SNAPSHOTS / "alerts"
CASES = sorted(path.stem for path in RECORDED.glob("*.json"))
ROUTING_KEY = "R0UT1NGKEY0000000000000000000000"
WRITE_COMMAND = ".venv/bin/python -m tests.unit.test_notify_format --write"


def recorded(case: str) -> Alert:
    return alert_from_dict(json.loads((RECORDED / f"{case}.json").read_text()))


def rendered(alert: Alert) -> dict[str, Any]:
    subject, body, attributes = sns_message(alert)
    return {
        "slack": slack_payload(alert),
        "pagerduty": pagerduty_event(alert, ROUTING_KEY),
        "sns": {"subject": subject, "body": body, "message_attributes": attributes},
    }


def test_recorded_alerts_cover_each_kind() -> None:
    assert {"failed_run", "failed_run_resolved", "success_rate", "queue_depth"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_payloads_match_the_committed_snapshot(case: str) -> None:
    snapshot = SNAPSHOTS / f"{case}.json"
    if not snapshot.exists():
        pytest.fail(f"no snapshot {snapshot}: run `{WRITE_COMMAND}`, review the file, commit it")
    assert rendered(recorded(case)) == json.loads(snapshot.read_text())


def test_every_snapshot_has_its_recorded_alert() -> None:
    orphans = {p.stem for p in SNAPSHOTS.glob("*.json")} - set(CASES)
    assert not orphans, f"snapshots without a recorded alert in {RECORDED}: {sorted(orphans)}"


def test_slack_message_shows_run_facts_the_link_and_the_alert_id() -> None:
    alert = recorded("failed_run")
    blocks = slack_payload(alert)["blocks"]
    fields = next(b["fields"] for b in blocks if b.get("fields"))
    labels = [f["text"].split("\n")[0] for f in fields]
    assert labels[:4] == ["*Flow*", "*Run*", "*Failing step*", "*Exception*"]
    assert fields[3]["text"].startswith("*Exception*\nValueError: Input X contains NaN.")
    button = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    assert button["url"] == alert.link
    assert f"Alert id `{alert.id}`" in blocks[-1]["elements"][0]["text"]


def test_slack_escapes_its_control_characters() -> None:
    text = json.dumps(slack_payload(recorded("metadata_down")))
    assert "&lt;urllib3.connection.HTTPConnection" in text
    assert "/ping &amp; /version" in text
    assert "<urllib3" not in text


def test_resolve_pairs_with_its_trigger_by_dedup_key() -> None:
    trigger = pagerduty_event(recorded("failed_run"), ROUTING_KEY)
    resolve = pagerduty_event(recorded("failed_run_resolved"), ROUTING_KEY)
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                       "dedup_key": trigger["dedup_key"]}  # fmt: skip
    assert trigger["payload"]["custom_details"]["alert_id"] == recorded("failed_run").id


def test_long_and_unusual_text_fits_each_service_limits() -> None:
    alert = Alert(
        id="run-failed:x:trigger:1",
        dedup_key="run-failed:x",
        rule="run-failed",
        state="trigger",
        severity="critical",
        summary="Ünïcode summary\nwith a line break and tabs\t" + "word " * 400,
        details={"exception": "E" * 5000} | {f"key_{n:02d}": str(n) for n in range(15)},
        link="https://metaflow-ui.internal/Flow/1",
        created=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    blocks = slack_payload(alert)["blocks"]
    assert len(blocks[0]["text"]["text"]) <= 150
    assert blocks[1]["text"]["text"].startswith("Ünïcode summary")  # the header lost words
    fields = blocks[2]["fields"]
    assert len(fields) == 10 and all(len(f["text"]) <= 2000 for f in fields)
    assert len(pagerduty_event(alert, ROUTING_KEY)["payload"]["summary"]) <= 1024
    subject, body, _ = sns_message(alert)
    assert len(subject) < 100 and subject.isascii() and subject.isprintable()
    assert subject.startswith("Critical: Unicode summary with a line break")
    assert json.loads(body)["details"]["exception"] == "E" * 5000  # the body keeps it all


def test_secret_looking_details_are_redacted_everywhere() -> None:
    secrets = {"api_token": "tok-123", "db_password": "hunter2", "aws_access_key": "AKIAXYZ"}
    alert = Alert("a", "k", "rule", "trigger", "info", "summary", details=secrets)
    text = json.dumps(rendered(alert))
    assert not [value for value in secrets.values() if value in text]
    assert text.count("[redacted]") == 3 * 3  # Slack, PagerDuty and SNS each show three


def test_alert_survives_the_outbox_format() -> None:
    for case in CASES:
        alert = recorded(case)
        assert alert_from_dict(json.loads(json.dumps(alert_to_dict(alert)))) == alert


def _write_missing() -> None:
    for case in CASES:
        snapshot = SNAPSHOTS / f"{case}.json"
        if not snapshot.exists():
            snapshot.write_text(
                json.dumps(rendered(recorded(case)), indent=2, ensure_ascii=False) + "\n"
            )
            print(f"wrote {snapshot}: review it before committing")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {WRITE_COMMAND}  (writes missing snapshots only)")
    _write_missing()
