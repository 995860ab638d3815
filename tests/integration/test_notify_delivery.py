"""Alert delivery through real endpoints on loopback: an outage loses nothing, recovery delivers
every alert, and nothing confirmed is sent again.

Slack and PagerDuty are the stand-ins in `tests/servers/receivers.py` (they fail, hang, answer
late, and recover on command); SNS is moto in server mode, read back through an SQS queue
subscribed to the topic. Each `deliver_pending` call opens the outbox afresh, as separate
`monitor check` runs would.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from mlplatform.errors import PlatformError
from mlplatform.monitoring.notify import Notifier
from mlplatform.monitoring.notify.deliver import (
    DeliveryResult,
    RetryPolicy,
    configured_notifiers,
    deliver_pending,
    notify,
)
from mlplatform.monitoring.notify.outbox import Outbox
from mlplatform.monitoring.notify.pagerduty import PagerDutyNotifier
from mlplatform.monitoring.notify.slack import SlackNotifier
from mlplatform.monitoring.notify.sns import SnsNotifier
from mlplatform.monitoring.records import Alert
from mlplatform.settings import get_settings
from tests.conftest import free_port
from tests.servers.receivers import Receiver, running_receiver

SLACK_TOKEN = "Zq8sEcReTwEbHoOkToKeN4711"
ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
ENDPOINTS = ["sns", "slack", "pagerduty"]
HANGS_UP_AFTER = 0.3  # client timeout while a receiver hangs; otherwise a generous one, so
# that a busy machine does not turn a slow answer into a (legitimate) resend
FAST = RetryPolicy(wait_initial=0.01, wait_max=0.05, jitter=0.01)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow  # ~12 s: moto, two receivers, timeouts that must expire


def make_alert(
    rule: str, subject: str, state: str, started: int, minutes: int, **details: str
) -> Alert:
    dedup_key = f"{rule}:{subject}"
    return Alert(
        id=f"{dedup_key}:{state}:{T0 + timedelta(minutes=started):%Y%m%dT%H%MZ}",
        dedup_key=dedup_key,
        rule=rule,
        state=state,  # type: ignore[arg-type]
        severity="critical" if rule == "run-failed" else "warning",
        summary=f"{rule} {subject} {state}",
        details=details,
        link=f"https://metaflow-ui.internal/{subject}" if "run" in details else None,
        created=T0 + timedelta(minutes=minutes),
    )


RUN = {"flow": "TrainFlow", "run": "1712", "failing_step": "train", "exception": "ValueError: NaN"}
FAILED = make_alert("run-failed", "growth.TrainFlow", "trigger", 0, 0, **RUN)
SUCCESS_RATE = make_alert("success-rate", "growth.TrainFlow", "trigger", 1, 1, success_rate="83 %")
QUEUE = make_alert("batch-queue-depth", "ml-default", "trigger", 2, 2, runnable_jobs="63")
FAILED_RESOLVED = make_alert("run-failed", "growth.TrainFlow", "resolve", 0, 10, flow="TrainFlow")
QUEUE_RESOLVED = make_alert("batch-queue-depth", "ml-default", "resolve", 2, 12, runnable_jobs="4")
ALERTS = [FAILED, SUCCESS_RATE, QUEUE, FAILED_RESOLVED, QUEUE_RESOLVED]


@dataclass
class Topic:
    arn: str
    queue_url: str
    sqs: Any

    def delivered(self) -> list[dict[str, Any]]:
        """SNS notifications that reached the subscribed queue since the last call."""
        envelopes = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10
        ).get("Messages"):
            for message in batch:
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return envelopes

    def alert_ids(self) -> Counter[str]:
        return Counter(e["MessageAttributes"]["alert_id"]["Value"] for e in self.delivered())


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with running_receiver("slack", SLACK_TOKEN) as receiver:
        yield receiver


@pytest.fixture
def pagerduty() -> Iterator[Receiver]:
    with running_receiver("pagerduty", ROUTING_KEY) as receiver:
        yield receiver


def make_topic(fifo: bool = False) -> Topic:
    name = f"alerts-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=name, Attributes={"FifoTopic": "true"} if fifo else {})
    queue_url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic["TopicArn"], Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    return Topic(topic["TopicArn"], queue_url, sqs)


@pytest.fixture
def topic(aws: str) -> Topic:
    return make_topic()


def notifiers(
    slack: Receiver,
    pagerduty: Receiver,
    topic: Topic,
    key: str = ROUTING_KEY,
    hanging: str = "",
    timeout: float = 10.0,
) -> list[Notifier]:
    """Fresh senders, as a new `monitor check` process builds them; the `hanging` endpoint's
    sender gives up after HANGS_UP_AFTER seconds."""

    def seconds(endpoint: str) -> float:
        return HANGS_UP_AFTER if endpoint == hanging else timeout

    return [
        SnsNotifier(topic.arn, timeout_seconds=seconds("sns")),
        SlackNotifier(slack.url, timeout_seconds=seconds("slack")),
        PagerDutyNotifier(key, url=pagerduty.url, timeout_seconds=seconds("pagerduty")),
    ]


def run(path: Path, senders: list[Notifier], minutes: float) -> DeliveryResult:
    return deliver_pending(Outbox(path), senders, now=T0 + timedelta(minutes=minutes), policy=FAST)


def pending_counts(path: Path) -> dict[str, tuple[int, int]]:
    return {b.endpoint: (b.pending, b.dead) for b in Outbox(path).backlog()}


def test_outage_loses_nothing_and_recovery_delivers_each_alert_once(
    tmp_path: Path,
    slack: Receiver,
    pagerduty: Receiver,
    topic: Topic,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "alerts.sqlite"
    outbox = Outbox(path)
    assert [outbox.enqueue(a, ENDPOINTS) for a in ALERTS[:3]] == [3, 3, 3]
    assert [outbox.enqueue(a, ENDPOINTS) for a in ALERTS[:3]] == [0, 0, 0]  # idempotent

    # Outage 1: Slack answers 500, PagerDuty hangs past the timeout, SNS refuses connections.
    slack.fail(500, "internal_error")
    pagerduty.hang()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    first = run(path, notifiers(slack, pagerduty, topic, hanging="pagerduty"), minutes=0)
    assert first.delivered == [] and first.dead == []
    assert {f.endpoint: f.next_attempt_at for f in first.retrying} == dict.fromkeys(
        ENDPOINTS, T0 + timedelta(seconds=60)
    )
    assert "HTTP 500 internal_error" in next(
        f.error for f in first.retrying if f.endpoint == "slack"
    )
    assert pending_counts(path) == dict.fromkeys(ENDPOINTS, (3, 0))
    # the oldest alert is retried (3 tries in the run), the newer ones wait behind it
    assert slack.received() == Counter({FAILED.id: 3})
    assert pagerduty.received() == Counter({f"{FAILED.dedup_key}/trigger": 3})
    assert pagerduty.shown() == []

    # Before the backoff has passed nothing is tried; a missing notifier is reported.
    early = run(path, notifiers(slack, pagerduty, topic)[1:], minutes=0.5)
    assert early.waiting == {"slack": 3, "pagerduty": 3} and early.unconfigured == {"sns": 3}
    assert len(slack.arrivals) == 3 and len(pagerduty.arrivals) == 3

    # Outage 2, with new alerts: Slack hangs, PagerDuty answers 503.
    slack.hang()
    pagerduty.fail(503, "")
    for alert in ALERTS[3:]:
        Outbox(path).enqueue(alert, ENDPOINTS)
    second = run(path, notifiers(slack, pagerduty, topic, hanging="slack"), minutes=10)
    assert second.delivered == [] and len(second.retrying) == 3
    assert {
        b.endpoint: (b.pending, b.oldest_pending) for b in Outbox(path).backlog()
    } == dict.fromkeys(ENDPOINTS, (5, FAILED.created))

    # Recovery: every alert arrives once, in creation order; resolves follow their triggers.
    slack.recover()
    pagerduty.recover()
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
    third = run(path, notifiers(slack, pagerduty, topic), minutes=60)
    assert third.ok and len(third.delivered) == 15
    assert slack.shown() == [a.id for a in ALERTS]
    assert slack.confirmed() == Counter({a.id: 1 for a in ALERTS})
    assert pagerduty.shown() == [f"{a.dedup_key}/{a.state}" for a in ALERTS]
    assert topic.alert_ids() == Counter({a.id: 1 for a in ALERTS})
    assert slack.sent_after_confirmed() == [] and pagerduty.sent_after_confirmed() == []
    assert Outbox(path).backlog() == []

    # Later runs, and enqueueing a delivered alert again, send nothing.
    before = len(slack.arrivals), len(pagerduty.arrivals)
    assert Outbox(path).enqueue(FAILED, ENDPOINTS) == 0
    fourth = run(path, notifiers(slack, pagerduty, topic), minutes=120)
    assert fourth.delivered == [] and fourth.ok
    assert (len(slack.arrivals), len(pagerduty.arrivals)) == before
    assert topic.alert_ids() == Counter()


def test_a_lost_answer_is_sent_again_and_pagerduty_shows_it_once(
    tmp_path: Path, slack: Receiver, pagerduty: Receiver, topic: Topic
) -> None:
    path = tmp_path / "alerts.sqlite"
    pagerduty.slow(times=1)  # processes the trigger, but its answer comes after the timeout
    senders = notifiers(slack, pagerduty, topic, timeout=1.0)[2:]
    result = notify([FAILED], Outbox(path), senders, now=T0, policy=FAST)
    assert result.delivered == [(FAILED.id, "pagerduty")]
    key = f"{FAILED.dedup_key}/trigger"
    assert pagerduty.received() == Counter({key: 2})  # at least once ...
    assert pagerduty.shown() == [key]  # ... and PagerDuty's dedup_key makes it one incident


def test_fifo_topic_drops_a_repeated_alert(aws: str) -> None:
    fifo = make_topic(fifo=True)
    sender = SnsNotifier(fifo.arn)
    sender.send(FAILED)
    sender.send(FAILED)  # a resend after a lost answer
    sender.send(FAILED_RESOLVED)
    assert fifo.alert_ids() == Counter({FAILED.id: 1, FAILED_RESOLVED.id: 1})


def test_refused_alerts_are_dead_lettered_reported_and_not_resent(
    tmp_path: Path, slack: Receiver, pagerduty: Receiver, topic: Topic
) -> None:
    path = tmp_path / "alerts.sqlite"
    for alert in ALERTS[:3]:
        Outbox(path).enqueue(alert, ENDPOINTS)
    wrong_key = "0" * 32
    senders = notifiers(slack, pagerduty, topic, key=wrong_key)
    senders[0] = SnsNotifier(topic.arn.rsplit(":", 1)[0] + ":no-such-topic")
    slack.fail(400, "invalid_payload", times=1)

    result = run(path, senders, minutes=0)
    assert [(f.endpoint, f.alert_id) for f in result.dead] == [
        ("sns", FAILED.id), ("sns", SUCCESS_RATE.id), ("sns", QUEUE.id),
        ("slack", FAILED.id),
        ("pagerduty", FAILED.id), ("pagerduty", SUCCESS_RATE.id), ("pagerduty", QUEUE.id),
    ]  # fmt: skip
    errors = {f.endpoint: f.error for f in result.dead}
    assert errors["slack"] == "slack: HTTP 400 invalid_payload"
    assert errors["sns"].startswith("sns: NotFound")
    assert (
        "pagerduty: HTTP 400" in errors["pagerduty"]
        and "Invalid routing key" in errors["pagerduty"]
    )
    assert not result.ok and "dead-lettered at pagerduty" in result.summary()
    assert all(wrong_key not in f.error for f in result.dead)
    # a refusal is not retried, and the next alert still goes out, in order
    assert slack.received() == Counter({a.id: 1 for a in ALERTS[:3]})
    assert slack.shown() == [SUCCESS_RATE.id, QUEUE.id]
    assert pagerduty.received() == Counter({f"{a.dedup_key}/trigger": 1 for a in ALERTS[:3]})
    assert pending_counts(path) == {"pagerduty": (0, 3), "slack": (0, 1), "sns": (0, 3)}
    assert [e.alert.id for e in Outbox(path).dead_letters("slack")] == [FAILED.id]

    # dead letters are not sent again ...
    again = run(path, notifiers(slack, pagerduty, topic), minutes=60)
    assert again.delivered == [] and len(slack.arrivals) == 3 and len(pagerduty.arrivals) == 3
    # ... until the configuration is fixed and they are requeued
    assert Outbox(path).requeue_dead() == 7
    fixed = run(path, notifiers(slack, pagerduty, topic), minutes=61)
    assert fixed.ok and len(fixed.delivered) == 7
    assert slack.shown() == [SUCCESS_RATE.id, QUEUE.id, FAILED.id]
    assert pagerduty.shown() == [f"{a.dedup_key}/trigger" for a in ALERTS[:3]]
    assert topic.alert_ids() == Counter({a.id: 1 for a in ALERTS[:3]})


def test_retry_after_from_a_rate_limit_is_honoured(
    tmp_path: Path, slack: Receiver, pagerduty: Receiver, topic: Topic
) -> None:
    path = tmp_path / "alerts.sqlite"
    Outbox(path).enqueue(FAILED, ["slack"])
    slack.fail(429, "rate_limited", retry_after=600)
    result = run(path, notifiers(slack, pagerduty, topic)[1:2], minutes=0)
    assert [f.next_attempt_at for f in result.retrying] == [T0 + timedelta(seconds=600)]
    slack.recover()
    assert run(path, notifiers(slack, pagerduty, topic)[1:2], minutes=9).waiting == {"slack": 1}
    assert run(path, notifiers(slack, pagerduty, topic)[1:2], minutes=10).delivered
    assert slack.shown() == [FAILED.id]


def test_two_processes_sharing_the_outbox_send_each_alert_once(
    tmp_path: Path, slack: Receiver, pagerduty: Receiver, topic: Topic
) -> None:
    path = tmp_path / "alerts.sqlite"
    alerts = [
        make_alert("success-rate", f"team.Flow{n:02d}", "trigger", n, n, success_rate="80 %")
        for n in range(20)
    ]
    for alert in alerts:
        Outbox(path).enqueue(alert, ["slack", "pagerduty"])
    start = threading.Barrier(2)
    results: list[DeliveryResult] = []

    def process() -> None:
        outbox = Outbox(path)  # its own connections, as another process would have
        start.wait()
        results.append(deliver_pending(outbox, notifiers(slack, pagerduty, topic)[1:], policy=FAST))

    workers = [threading.Thread(target=process) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    delivered = [item for result in results for item in result.delivered]
    assert len(delivered) == len(set(delivered)) == 40
    assert slack.received() == Counter({a.id: 1 for a in alerts})
    assert pagerduty.received() == Counter({f"{a.dedup_key}/trigger": 1 for a in alerts})
    assert Outbox(path).backlog() == []


def test_webhook_url_and_routing_key_stay_out_of_logs_and_errors(
    tmp_path: Path,
    slack: Receiver,
    pagerduty: Receiver,
    topic: Topic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "alerts.sqlite"
    Outbox(path).enqueue(FAILED, ["slack", "pagerduty"])
    slack.fail(500, times=1)
    result = run(path, notifiers(slack, pagerduty, topic, key="f" * 32)[1:], minutes=0)
    assert result.delivered == [(FAILED.id, "slack")] and len(result.dead) == 1
    assert "HTTP Request: POST" in caplog.text and "<redacted>" in caplog.text  # httpx did log
    for secret in (SLACK_TOKEN, "f" * 32):
        assert secret not in caplog.text
        assert secret not in result.summary()
        assert secret not in repr(notifiers(slack, pagerduty, topic, key="f" * 32))


def test_an_unusable_outbox_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "alerts.sqlite").write_text("not a database")
    with pytest.raises(PlatformError) as error:
        Outbox(tmp_path / "alerts.sqlite")
    assert "alert outbox" in error.value.headline and "alerts.state_db" in error.value.hint


def test_settings_name_the_endpoints_and_where_secrets_live(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert configured_notifiers(get_settings().alerts) == []  # nothing configured: no senders
    secret = f"alerts/slack-webhook-{uuid.uuid4().hex[:8]}"
    webhook = f"https://hooks.slack.com/services/{SLACK_TOKEN}"
    boto3.client("secretsmanager").create_secret(Name=secret, SecretString=webhook)
    monkeypatch.setenv("MLPLATFORM_ALERTS__SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123:alerts")
    monkeypatch.setenv("MLPLATFORM_ALERTS__SLACK_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("MLPLATFORM_PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    monkeypatch.setenv("MLPLATFORM_ALERTS__STATE_DB", str(tmp_path / "state" / "alerts.sqlite"))
    get_settings.cache_clear()
    alerts = get_settings().alerts
    sns, slack, pagerduty = configured_notifiers(alerts)
    assert (sns.name, slack.name, pagerduty.name) == ("sns", "slack", "pagerduty")
    assert isinstance(slack, SlackNotifier) and slack.webhook_url == webhook
    assert isinstance(pagerduty, PagerDutyNotifier) and pagerduty.routing_key == ROUTING_KEY
    assert pagerduty.url == "https://events.pagerduty.com/v2/enqueue"
    assert Outbox.from_settings(alerts).path == tmp_path / "state" / "alerts.sqlite"

    monkeypatch.setenv("MLPLATFORM_ALERTS__SLACK_WEBHOOK_SECRET", "alerts/missing")
    get_settings.cache_clear()
    with pytest.raises(PlatformError, match="Slack webhook URL secret 'alerts/missing'"):
        configured_notifiers(get_settings().alerts)


def test_the_outbox_lives_in_the_platform_home_by_default(isolated_home: Path) -> None:
    assert Outbox.from_settings(get_settings().alerts).path == (
        isolated_home / "monitoring" / "alerts.sqlite"
    )
