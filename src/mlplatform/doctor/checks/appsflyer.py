"""AppsFlyer: the API token is present and accepted, and every watched app has fresh data.

The token probe is one Pull API export of a one-minute window for the first watched app
(installs report): the cheapest authenticated request the Pull API has, and one call against
that report's daily quota. Freshness reads the raw zone `pull` writes:
`<raw_root>/appsflyer/<app_id>/<report>/dt=YYYY-MM-DD/`; a day's partition is as old as the
end of that day.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta

import httpx

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.errors import PlatformError
from mlplatform.settings import Settings
from mlplatform.storage import join

_PARTITION = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


class _LastStatus(httpx.HTTPTransport):
    """Remembers the last HTTP status, so a refusal is told apart from an outage."""

    status: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.status = response.status_code
        return response


def newest_partition(app_root: str) -> date | None:
    """The newest `dt=` day in any report under `app_root` (a local folder or s3:// URI)."""
    days = [
        _day(name) for report in _children(app_root) for name in _children(join(app_root, report))
    ]
    found = [d for d in days if d is not None]
    return max(found) if found else None


def _day(name: str) -> date | None:
    match = _PARTITION.match(name)
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def _children(location: str) -> list[str]:
    """Names of the folders (S3: common prefixes) directly under `location`."""
    if not location.startswith("s3://"):
        if not os.path.isdir(location):
            return []
        return [e.name for e in os.scandir(location) if e.is_dir()]
    from mlplatform import aws

    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    names = []
    with aws.calling("s3", f"listing {location}"):
        pages = aws.client("s3").get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            names += [
                p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])
            ]
    return names


def freshness(
    raw_root: str, app_ids: list[str], max_hours: int, now: datetime
) -> tuple[list[str], list[str]]:
    """(problems, details): each app's newest partition against `max_hours`."""
    problems, details = [], []
    for app_id in app_ids:
        newest = newest_partition(join(raw_root, "appsflyer", app_id))
        if newest is None:
            problems.append(
                f"{app_id}: no landed partition under {join(raw_root, 'appsflyer', app_id)}"
            )
            continue
        end_of_day = datetime.combine(newest + timedelta(days=1), datetime.min.time(), UTC)
        hours = max(0, int((now - end_of_day).total_seconds() // 3600))
        details.append(f"{app_id}: newest partition dt={newest} ({hours} h old)")
        if hours > max_hours:
            problems.append(
                f"{app_id}: newest partition dt={newest} is {hours} h old (limit {max_hours} h)"
            )
    return problems, details


def probe_token(settings: Settings, token: str, app_id: str) -> str | None:
    """None when AppsFlyer accepts the token, else what is wrong."""
    from mlplatform.data.appsflyer.pull_api import PullApi, PullApiError
    from mlplatform.data.appsflyer.reports import REPORTS

    transport = _LastStatus()
    api = PullApi(
        settings.appsflyer.base_url,
        token,
        retry_attempts=1,
        timeout_seconds=30,
        transport=transport,
    )
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    try:
        api.export(app_id, REPORTS["installs"], start, start + timedelta(minutes=1))
    except PullApiError as exc:
        if transport.status in (401, 403):
            return "token rejected: renew it in AppsFlyer → API tokens"
        if transport.status == 429 or "limit" in exc.headline:
            return f"quota used up: {exc.headline}"
        return exc.headline
    return None


def _run(settings: Settings) -> Finding:
    from mlplatform.secrets import read_secret

    af = settings.appsflyer
    token_set = bool(af.token_secret or os.environ.get(af.token_env, "").strip())
    if not token_set and not af.app_ids:
        return Finding.not_configured(
            f"no AppsFlyer token ({af.token_env}) and no appsflyer.app_ids"
        )
    problems: list[str] = []
    details: list[str] = []
    action: str | None = None
    try:
        token = read_secret(
            "AppsFlyer API token", af.token_env, af.token_secret, "appsflyer.token_secret"
        )
    except PlatformError as exc:
        token = ""
        problems.append(exc.headline)
        action = exc.hint
    if token and af.app_ids:
        refusal = probe_token(settings, token, af.app_ids[0])
        if refusal is None:
            details.append(f"token accepted by {af.base_url} ({af.app_ids[0]}, one export call)")
        else:
            problems.append(refusal)
            if refusal.startswith("token rejected"):
                where = af.token_secret or af.token_env
                action = f"create an API V2 token in AppsFlyer → API tokens; store it in {where}"
            elif refusal.startswith("quota"):
                action = "wait for the quota to reset at 00:00 UTC; pull fewer reports or days"
    elif token:
        details.append("token present; acceptance not checked: appsflyer.app_ids is empty")
    try:
        stale, fresh = freshness(af.raw_root, af.app_ids, af.freshness_hours, datetime.now(UTC))
    except PlatformError as exc:
        stale, fresh = [exc.headline], []
    problems += stale
    details += fresh
    if stale and action is None:
        action = "find why the daily pull stopped (the scheduler's log), then land the missing "
        action += "days with mlplatform appsflyer pull"
    if problems:
        return Finding.failed("; ".join(problems), *details, action=action)
    summary = "token accepted" if token and af.app_ids else "token present"
    if af.app_ids:
        summary += f"; {len(af.app_ids)} app(s) fresh within {af.freshness_hours} h"
    return Finding.passed(summary, *details)


CHECK = Check(
    id="appsflyer",
    title="AppsFlyer",
    checks="The Pull API token is present and accepted, and each app in appsflyer.app_ids has "
    "a landed partition younger than appsflyer.freshness_hours.",
    action="Renew a rejected token, wait out a used quota, or re-run the daily pull for the "
    "missing days.",
    severity=Severity.WARNING,
    time_to_resolve="1 hour",
    run=_run,
)
