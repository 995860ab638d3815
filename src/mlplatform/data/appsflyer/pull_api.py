"""The AppsFlyer Pull API (raw data export, v5) client, and landing its reports in the raw zone.

`PullApi` makes one authenticated request with retries (429 and 5xx, exponential backoff with
jitter, via tenacity) and turns AppsFlyer's error answers into one-line errors. `pull()` lands
a date range day by day under `<root>/appsflyer/<app_id>/<report path>/dt=YYYY-MM-DD/`:
- a response with exactly `maximum_rows` rows was truncated, so its window is halved and
  fetched again until every part is complete;
- days already in the report's `_manifest.json` are skipped, so an interrupted pull resumes;
- each day's parts are written atomically, then the manifest records the day: the manifest is
  the commit record, and parts of a day it does not list are replaced on the next pull.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from mlplatform.data.appsflyer.reports import Report
from mlplatform.errors import PlatformError
from mlplatform.secrets import read_secret
from mlplatform.storage import join, read_bytes, write_bytes

MIN_WINDOW = timedelta(minutes=1)


class PullApiError(PlatformError):
    """AppsFlyer refused a request, or kept failing."""


class _Retryable(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


@dataclass
class PullApi:
    base_url: str
    token: str
    max_rows: int = 200_000
    retry_initial_seconds: float = 1.0
    retry_attempts: int = 5
    timeout_seconds: float = 300.0
    transport: httpx.BaseTransport | None = None  # a seam for tests that need no server

    def export(self, app_id: str, report: Report, start: datetime, end: datetime) -> bytes:
        """CSV for rows in [start, end) (UTC)."""
        url = f"{self.base_url.rstrip('/')}/api/raw-data/export/app/{app_id}/{report.pull_path}/v5"
        params = {
            "from": start.strftime("%Y-%m-%d %H:%M:%S"),
            "to": (end - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "maximum_rows": str(self.max_rows),
        }
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/csv"}
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable | httpx.TransportError)),
            wait=wait_exponential_jitter(
                multiplier=self.retry_initial_seconds, max=60, jitter=self.retry_initial_seconds
            ),
            stop=stop_after_attempt(self.retry_attempts),
            reraise=True,
        )
        with httpx.Client(timeout=self.timeout_seconds, transport=self.transport) as client:
            try:
                for attempt in retrying:
                    with attempt:
                        response = client.get(url, params=params, headers=headers)
                        if response.status_code == 429 or response.status_code >= 500:
                            raise _Retryable(response.status_code, response.text)
            except (_Retryable, httpx.TransportError) as exc:
                raise PullApiError(
                    f"AppsFlyer {report.pull_path} for {app_id}: still failing after "
                    f"{self.retry_attempts} attempts ({exc})",
                    "try again later; check connectivity to " + self.base_url,
                ) from None
        _raise_for_answer(response, app_id, report)
        return response.content


def _raise_for_answer(response: httpx.Response, app_id: str, report: Report) -> None:
    status, text = response.status_code, response.text.strip()
    where = f"AppsFlyer {report.pull_path} for {app_id}"
    if status == 200:
        return
    if status == 400 and "limit" in text.lower() and "reached" in text.lower():
        raise PullApiError(
            f"{where}: the daily API call limit for this report is used up",
            "quotas reset at 00:00 UTC; run the pull again then (landed days are kept)",
        )
    if status == 400 and "lookback" in text.lower():
        raise PullApiError(f"{where}: {text}", "pull only the last 90 days")
    if status == 401:
        raise PullApiError(
            f"{where}: the API token was rejected ({text or 'HTTP 401'})",
            "set a valid API V2 token (tokens made before 2026-03-10 were revoked)",
        )
    if status == 404:
        raise PullApiError(
            f"{where}: app not found (HTTP 404)",
            "check the app id (iOS: id<digits>; Android: the package name) and that the token "
            "belongs to an account with this app",
        )
    raise PullApiError(f"{where}: HTTP {status}: {text[:200]}", "see the AppsFlyer API status")


def count_rows(body: bytes) -> int:
    """Data rows in a CSV body (quoted fields may hold commas and doubled quotes)."""
    reader = csv.reader(io.StringIO(body.decode("utf-8")))
    return max(sum(1 for _ in reader) - 1, 0)


@dataclass
class PullSummary:
    landed: dict[str, int] = field(default_factory=dict)  # day -> rows
    skipped: list[str] = field(default_factory=list)
    requests: int = 0
    manifest: str = ""


def report_root(root: str, app_id: str, report: Report) -> str:
    return join(root, "appsflyer", app_id, report.pull_path)


def pull(
    api: PullApi,
    app_id: str,
    report: Report,
    first_day: date,
    last_day: date,
    root: str,
    lookback_days: int = 90,
    today: date | None = None,
    on_day: Callable[[str, str], None] | None = None,
) -> PullSummary:
    today = today or datetime.now(UTC).date()
    earliest = today - timedelta(days=lookback_days)
    if last_day < first_day:
        raise PlatformError(f"--from {first_day} is after --to {last_day}", "swap them")
    if first_day < earliest:
        raise PlatformError(
            f"{first_day} is beyond the Pull API's {lookback_days}-day lookback",
            f"the earliest day you can pull today is {earliest}",
        )
    if last_day > today:
        raise PlatformError(f"{last_day} is in the future", f"pull up to {today} at most")
    base = report_root(root, app_id, report)
    manifest_path = join(base, "_manifest.json")
    manifest = json.loads(read_bytes(manifest_path) or b'{"days": {}}')
    summary = PullSummary(manifest=manifest_path)
    day = first_day
    while day <= last_day:
        key = day.isoformat()
        if key in manifest["days"]:
            summary.skipped.append(key)
            if on_day:
                on_day(key, "already landed")
        else:
            start = datetime.combine(day, datetime.min.time())
            parts = _fetch_complete(api, app_id, report, start, start + timedelta(days=1), summary)
            rows = _land_day(base, key, parts)
            manifest["days"][key] = {
                "rows": rows,
                "parts": len(parts),
                "sha256": [hashlib.sha256(p).hexdigest() for p in parts],
                "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            write_bytes(manifest_path, json.dumps(manifest, indent=2, sort_keys=True).encode())
            summary.landed[key] = rows
            if on_day:
                on_day(key, f"{rows:,} rows in {len(parts)} part(s)")
        day += timedelta(days=1)
    return summary


def _fetch_complete(
    api: PullApi, app_id: str, report: Report, start: datetime, end: datetime, summary: PullSummary
) -> list[bytes]:
    """CSV parts covering [start, end), none of them truncated at the row cap."""
    body = api.export(app_id, report, start, end)
    summary.requests += 1
    if count_rows(body) < api.max_rows:
        return [body]
    if end - start <= MIN_WINDOW:
        raise PullApiError(
            f"AppsFlyer {report.pull_path}: more than {api.max_rows:,} rows in one minute "
            f"({start:%Y-%m-%d %H:%M})",
            "use --max-rows 1000000",
        )
    middle = start + (end - start) / 2
    middle = middle.replace(second=0, microsecond=0)  # the API takes minutes at best
    if middle <= start:
        middle = start + MIN_WINDOW
    return _fetch_complete(api, app_id, report, start, middle, summary) + _fetch_complete(
        api, app_id, report, middle, end, summary
    )


def _land_day(base: str, day: str, parts: list[bytes]) -> int:
    folder = join(base, f"dt={day}")
    for index, body in enumerate(parts):
        write_bytes(join(folder, f"part-{index:05d}.csv"), body)
    _drop_stale_parts(folder, len(parts))
    return sum(count_rows(p) for p in parts)


def _drop_stale_parts(folder: str, keep: int) -> None:
    """Parts left by an earlier, interrupted pull of the same day beyond the new count."""
    if folder.startswith("s3://"):
        import boto3

        bucket, _, prefix = folder.removeprefix("s3://").partition("/")
        client = boto3.client("s3")
        listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/part-")
        for obj in listing.get("Contents", []):
            name = obj["Key"].rsplit("/", 1)[-1]
            if int(name[5:10]) >= keep:
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        return
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if name.startswith("part-") and int(name[5:10]) >= keep:
            os.remove(os.path.join(folder, name))


def token_from(env_name: str, secret_id: str | None) -> str:
    """The API token: from AWS Secrets Manager when a secret is configured, else the env."""
    return read_secret("AppsFlyer API token", env_name, secret_id, "appsflyer.token_secret")
