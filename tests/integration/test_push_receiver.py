"""The Push API receiver as a real process on loopback, and its hourly roll-up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import boto3
import httpx
import pandas as pd
import pytest

from mlplatform.data.appsflyer.push_receiver import PushStore
from tests.conftest import AWS_ENV, free_port, wait_until_serving

POSTBACK = {
    "appsflyer_id": "1698811503838-647100570385722663",
    "app_id": "com.example.game",
    "platform": "android",
    "event_name": "af_purchase",
    "event_time": "2026-11-27 00:49:04.897",
    "install_time": "2026-11-26 04:05:07.925",
    "event_value": '{"af_revenue":"4.99"}',
    "event_revenue_usd": "4.99",
    "is_primary_attribution": True,  # Push sends JSON booleans too
}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    spool = tmp_path / "spool"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlplatform.cli.main",
            "appsflyer",
            "receive",
            "--port",
            str(port),
            "--spool",
            str(spool),
            "--raw-root",
            str(tmp_path / "raw"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url + "/healthz", proc, "the push receiver")
    yield url, spool
    proc.terminate()
    proc.wait(timeout=10)


def wal_lines(spool: Path) -> list[dict]:
    return [
        json.loads(line)
        for wal in (spool / "wal").glob("*.jsonl")
        for line in wal.read_text().splitlines()
    ]


def test_postbacks_are_durable_before_200_and_deduplicated(receiver) -> None:
    url, spool = receiver
    first = httpx.post(url + "/postback", json=POSTBACK)
    assert first.status_code == 200 and first.json() == {"status": "stored"}
    assert wal_lines(spool)[0]["appsflyer_id"] == POSTBACK["appsflyer_id"]  # on disk already
    again = httpx.post(url + "/postback", json=POSTBACK)
    assert again.json() == {"status": "duplicate"} and len(wal_lines(spool)) == 1
    by_get = httpx.get(
        url + "/postback",
        params=POSTBACK | {"event_name": "af_login", "is_primary_attribution": "true"},
    )
    assert by_get.json() == {"status": "stored"} and len(wal_lines(spool)) == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"platform": "windows"}, "platform: not android/ios/windowsphone"),
        ({"install_time": ""}, "install_time: missing"),
        ({"event_value": "{broken"}, "event_value: not valid JSON"),
    ],
)
def test_bad_postbacks_get_422_and_are_kept(receiver, change: dict, reason: str) -> None:
    url, spool = receiver
    response = httpx.post(url + "/postback", json=POSTBACK | change)
    assert response.status_code == 422 and response.json() == {"error": reason}
    kept = [
        json.loads(line)
        for f in (spool / "quarantine").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert kept[-1]["reason"] == reason and kept[-1]["postback"]["platform"]
    not_json = httpx.post(url + "/postback", content=b"appsflyer_id=1")
    assert not_json.status_code == 422


def test_closed_hours_roll_into_parquet_and_announce(
    tmp_path: Path, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": aws_endpoint}.items():
        monkeypatch.setenv(key, value)
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="appsflyer-push")["TopicArn"]
    queue = sqs.create_queue(QueueName="push-watch")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    store = PushStore(tmp_path / "spool", str(tmp_path / "raw"), topic)
    ten = datetime(2026, 11, 27, 10, 15)
    assert store.accept(POSTBACK, ten) == "stored"
    assert store.accept(POSTBACK | {"event_name": "af_login"}, ten) == "stored"
    assert store.roll(ten) == []  # the hour is still open
    restarted = PushStore(tmp_path / "spool", str(tmp_path / "raw"), topic)
    assert restarted.accept(POSTBACK, ten) == "duplicate"  # dedupe survives a restart
    landed = restarted.roll(datetime(2026, 11, 27, 11, 0))
    path = (
        tmp_path / "raw/appsflyer/com.example.game/push_api/dt=2026-11-27/h=10/part-00000.parquet"
    )
    assert landed == [str(path)]
    frame = pd.read_parquet(path)
    assert sorted(frame["event_name"]) == ["af_login", "af_purchase"]
    assert set(frame["is_primary_attribution"]) == {"true"}
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"][0]
    assert json.loads(json.loads(message["Body"])["Message"]) == {"location": str(path), "rows": 2}
