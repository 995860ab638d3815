"""metadata-service: the Metaflow metadata service answers, reaches its database, runs a
schema that is up to date, and answers quickly.

Routes as Netflix/metaflow-service serves them (2.5.x): `GET /ping` on the metadata API
(port 8080) answers `pong` with a `METADATA_SERVICE_VERSION` header; `GET /version` answers the
version as text; `GET /healthcheck` runs `SELECT 1` and answers `{"status": "UP"}` (500 when
the database is unreachable). The migration service (port 8082) answers `GET /db_schema_status`
with `is_up_to_date`, `current_version`, `migration_in_progress`, `db_schema_versions` and
`unapplied_migrations`. Behind API Gateway the service wants Metaflow's `x-api-key`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.settings import Settings

VERSION_HEADER = "METADATA_SERVICE_VERSION"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def _headers() -> dict[str, str]:
    key = os.environ.get("METAFLOW_SERVICE_AUTH_KEY")  # what the Metaflow client sends
    return {"x-api-key": key} if key else {}


def _reason(exc: httpx.HTTPError) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def run(settings: Settings) -> Finding:
    url = settings.metadata.service_url
    if not url:
        return Finding.not_configured(
            "metadata.service_url is unset: Metaflow keeps its metadata locally"
        )
    base = url.rstrip("/")
    details: list[str] = []
    problems: list[tuple[str, str | None]] = []  # (what is wrong, what to do)
    with httpx.Client(timeout=TIMEOUT, headers=_headers()) as client:
        started = time.perf_counter()
        try:
            ping = client.get(f"{base}/ping")
        except httpx.HTTPError as exc:
            return Finding.failed(
                f"cannot reach the metadata service at {base}: {_reason(exc)}",
                action="check that the service's task is running (ECS console or "
                "`aws ecs describe-services`) and that this host may reach it (security group, "
                "VPC, metadata.service_url)",
            )
        elapsed = time.perf_counter() - started
        details.append(
            f"GET /ping: {ping.status_code} {ping.text.strip()[:40]!r} in {elapsed:.2f} s"
        )
        if ping.status_code != 200:
            hint = (
                " (API Gateway wants METAFLOW_SERVICE_AUTH_KEY)" if ping.status_code == 403 else ""
            )
            problems.append((f"/ping answered {ping.status_code}{hint}", None))
        elif elapsed > settings.metadata.slow_response_seconds:
            problems.append(
                (
                    f"slow: /ping took {elapsed:.1f} s (threshold "
                    f"{settings.metadata.slow_response_seconds:g} s)",
                    "look at the service's CPU and memory in CloudWatch and at the database's "
                    "load; scale the ECS service out",
                )
            )

        version = ping.headers.get(VERSION_HEADER)
        if not version:
            try:
                answer = client.get(f"{base}/version")
                version = answer.text.strip() if answer.status_code == 200 else None
            except httpx.HTTPError:
                version = None
        details.append(f"version: {version or 'unknown'}")

        try:
            health = client.get(f"{base}/healthcheck")
            status = _json(health).get("status")
            details.append(f"GET /healthcheck: {health.status_code} status={status}")
            if health.status_code != 200 or status != "UP":
                problems.append(
                    (
                        f"the service cannot reach its database (/healthcheck answered "
                        f"{health.status_code}, status {status or 'missing'})",
                        "check the RDS instance (`mlplatform doctor --only postgres`) and the "
                        "service's MF_METADATA_DB_* settings",
                    )
                )
        except httpx.HTTPError as exc:
            problems.append((f"/healthcheck failed: {_reason(exc)}", None))

        _schema(client, settings, details, problems)

    if problems:
        return Finding.failed(
            "; ".join(what for what, _ in problems),
            *details,
            action=next((todo for _, todo in problems if todo), None),
        )
    return Finding.passed(f"up, version {version or 'unknown'}, in {elapsed:.2f} s", *details)


def _schema(
    client: httpx.Client,
    settings: Settings,
    details: list[str],
    problems: list[tuple[str, str | None]],
) -> None:
    migration = settings.metadata.migration_url
    if not migration:
        details.append("schema status not checked: metadata.migration_url is unset")
        return
    url = f"{migration.rstrip('/')}/db_schema_status"
    try:
        answer = client.get(url)
    except httpx.HTTPError as exc:
        problems.append(
            (
                f"cannot reach the migration service at {migration}: {_reason(exc)}",
                "the migration service runs beside the metadata service on port 8082: check "
                "the task and that the NLB listener 8082 is reachable",
            )
        )
        return
    status = _json(answer)
    if answer.status_code != 200 or "is_up_to_date" not in status:
        detail = status.get("detail") or answer.text.strip()[:80]
        problems.append((f"/db_schema_status answered {answer.status_code}: {detail}", None))
        return
    versions = status.get("db_schema_versions") or []
    latest = versions[-1] if versions else "unknown"
    unapplied = status.get("unapplied_migrations") or []
    details.append(
        f"schema: current {status.get('current_version')}, latest {latest}, "
        f"{len(unapplied)} unapplied"
    )
    if status.get("migration_in_progress"):
        problems.append(("a schema migration is in progress", "wait for it, then run doctor again"))
    elif not status["is_up_to_date"]:
        problems.append(
            (
                f"schema behind: current {status.get('current_version')}, latest {latest} "
                f"({len(unapplied)} unapplied migrations)",
                f"snapshot the database, scale the service to one task, then "
                f"`curl -X PATCH {migration.rstrip('/')}/upgrade` and restart the service",
            )
        )


CHECK = Check(
    id="metadata-service",
    title="Metaflow metadata service",
    checks="/ping, /healthcheck (database reachable), version and schema status (migration "
    "service), response time.",
    action="restart or scale the metadata service; see the runbook for the database and "
    "schema cases",
    severity=Severity.CRITICAL,
    time_to_resolve="30 minutes",
    run=run,
)
