"""The Pull API client and landing, against a local server that answers like AppsFlyer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest

from mlplatform.data.appsflyer.pull_api import PullApi, PullApiError, pull, token_from
from mlplatform.data.appsflyer.reports import REPORTS
from mlplatform.data.appsflyer.validate import validate_file
from mlplatform.errors import PlatformError
from tests.conftest import AWS_ENV, assert_one_line_error, run_cli
from tests.integration.fake_appsflyer import FakeAppsFlyer

APP = "id1234567890"
TODAY = datetime.now(UTC).date()
DAY1 = TODAY - timedelta(days=5)


@pytest.fixture
def fake() -> Iterator[FakeAppsFlyer]:
    with FakeAppsFlyer() as server:
        yield server


def api(fake: FakeAppsFlyer, **changes: object) -> PullApi:
    settings: dict = {
        "base_url": fake.url,
        "token": "good-token",
        "retry_initial_seconds": 0.01,
        "retry_attempts": 3,
    }
    return PullApi(**(settings | changes))


def land(fake: FakeAppsFlyer, root: Path, days: int = 3, **changes: object):
    return pull(
        api(fake, **changes),
        APP,
        REPORTS["installs"],
        DAY1,
        DAY1 + timedelta(days=days - 1),
        str(root),
    )


def test_days_land_in_the_raw_zone_and_validate(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    summary = land(fake, tmp_path)
    assert list(summary.landed.values()) == [240, 240, 240] and summary.requests == 3
    folder = tmp_path / "appsflyer" / APP / "installs_report" / f"dt={DAY1}"
    assert (folder / "part-00000.csv").is_file()
    manifest = json.loads((folder.parent / "_manifest.json").read_text())
    assert sorted(manifest["days"]) == [str(DAY1 + timedelta(days=i)) for i in range(3)]
    checked = validate_file(str(folder / "part-00000.csv"), out_dir=tmp_path / "q")
    assert checked.report == "installs" and checked.rows_valid == 240
    assert fake.state.requests[0]["from"] == f"{DAY1} 00:00:00"
    assert fake.state.requests[0]["to"] == f"{DAY1} 23:59:59"


def test_rerun_skips_landed_days(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    land(fake, tmp_path, days=2)
    again = land(fake, tmp_path, days=3)
    assert again.skipped == [str(DAY1), str(DAY1 + timedelta(days=1))]
    assert list(again.landed) == [str(DAY1 + timedelta(days=2))] and again.requests == 1


def test_truncated_responses_are_split_until_complete(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    fake.state.strict_limits = False
    summary = land(fake, tmp_path, days=1, max_rows=100)
    assert summary.landed[str(DAY1)] == 240  # 240 rows a day, never more than 99 per part
    folder = tmp_path / "appsflyer" / APP / "installs_report" / f"dt={DAY1}"
    parts = sorted(folder.glob("part-*.csv"))
    assert len(parts) == 4 and summary.requests == 7  # day, 2 halves, 4 quarters
    times = pd.concat(pd.read_csv(p, dtype=str)["Event Time"] for p in parts)
    assert times.is_unique and len(times) == 240  # no gap, no overlap between parts


def test_5xx_and_429_are_retried(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    fake.state.fail_next = [500, 429]
    assert land(fake, tmp_path, days=1).landed[str(DAY1)] == 240
    assert len(fake.state.requests) == 3


def test_persistent_failure_is_one_clear_error(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    fake.state.fail_next = [503] * 5
    with pytest.raises(PullApiError, match="still failing after 3 attempts"):
        land(fake, tmp_path, days=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"token": "old-token"}, "API token was rejected"), ({"app": "id999"}, "app not found")],
)
def test_auth_and_unknown_app(
    fake: FakeAppsFlyer, tmp_path: Path, change: dict, message: str
) -> None:
    client = api(fake, **{k: v for k, v in change.items() if k == "token"})
    with pytest.raises(PullApiError, match=message):
        pull(client, change.get("app", APP), REPORTS["installs"], DAY1, DAY1, str(tmp_path))


def test_quota_keeps_landed_days_and_resumes(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    fake.state.quota = 2
    with pytest.raises(PullApiError, match="daily API call limit"):
        land(fake, tmp_path, days=3)
    manifest = tmp_path / "appsflyer" / APP / "installs_report" / "_manifest.json"
    assert len(json.loads(manifest.read_text())["days"]) == 2
    fake.state.quota = None  # midnight UTC
    assert list(land(fake, tmp_path, days=3).landed) == [str(DAY1 + timedelta(days=2))]


def test_lookback_and_future_refused_before_any_request(
    fake: FakeAppsFlyer, tmp_path: Path
) -> None:
    old = TODAY - timedelta(days=91)
    with pytest.raises(PlatformError, match="beyond the Pull API's 90-day lookback"):
        pull(api(fake), APP, REPORTS["installs"], old, old, str(tmp_path))
    with pytest.raises(PlatformError, match="in the future"):
        pull(api(fake), APP, REPORTS["installs"], TODAY, TODAY + timedelta(days=1), str(tmp_path))
    assert fake.state.requests == []


def test_cli_pull(fake: FakeAppsFlyer, tmp_path: Path) -> None:
    env = {
        "MLPLATFORM_APPSFLYER__BASE_URL": fake.url,
        "APPSFLYER_API_TOKEN": "good-token",
        "MLPLATFORM_APPSFLYER__RAW_ROOT": str(tmp_path / "raw"),
    }
    args = [
        "appsflyer",
        "pull",
        "--app-id",
        APP,
        "--report",
        "installs_report",
        "--from",
        str(DAY1),
        "--to",
        str(DAY1 + timedelta(days=1)),
    ]
    result = run_cli(*args, cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    assert "days_landed: 2" in result.stdout
    missing_token = run_cli(*args, cwd=tmp_path, env=env | {"APPSFLYER_API_TOKEN": ""})
    assert_one_line_error(missing_token, "no AppsFlyer API token: APPSFLYER_API_TOKEN is not set")
    bad_date = run_cli(*args[:-1], "2026-02-30", cwd=tmp_path, env=env)
    assert_one_line_error(bad_date, "--to '2026-02-30' is not a date")


def test_token_from_secrets_manager(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": aws_endpoint}.items():
        monkeypatch.setenv(key, value)
    boto3.client("secretsmanager").create_secret(Name="appsflyer/api-token", SecretString="tok\n")
    assert token_from("UNSET_VARIABLE", "appsflyer/api-token") == "tok"
    with pytest.raises(PlatformError, match="cannot read the AppsFlyer API token secret 'nope'"):
        token_from("UNSET_VARIABLE", "nope")


def test_days_land_on_s3(
    fake: FakeAppsFlyer, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": aws_endpoint}.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data-platform-raw")
    pull(api(fake), APP, REPORTS["installs"], DAY1, DAY1, "s3://data-platform-raw")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="data-platform-raw")["Contents"]]
    assert f"appsflyer/{APP}/installs_report/dt={DAY1}/part-00000.csv" in keys
    assert f"appsflyer/{APP}/installs_report/_manifest.json" in keys
