"""postgres: the metadata database accepts a connection over SSL, its replica keeps up, and its
storage has headroom.

The password comes from the URL or from PGPASSWORD / ~/.pgpass, as libpq reads them. Replica
lag is zero when the replica has replayed all it received (an idle primary sends nothing, so
the last replay time alone would read as lag). Free storage is RDS's FreeStorageSpace metric
when `metadata.rds_instance_id` is set; otherwise only the database's size is reported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from mlplatform import aws
from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5
REPLICA_LAG_MAX_SECONDS = 300.0
FREE_STORAGE_MIN_FRACTION = 0.10  # RDS storage autoscaling acts at 10% free too
GIB = 1024**3

LAG_SQL = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "THEN 0 ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
)


def target(url: str) -> str:
    """host:port/dbname of a URL, never its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def _reason(exc: psycopg.Error) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        url,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name="mlplatform-doctor",
        autocommit=True,
    )


def run(settings: Settings) -> Finding:
    url = settings.metadata.database_url
    if not url:
        return Finding.not_configured("metadata.database_url is unset: no database to check")
    where = target(url)
    try:
        conn = connect(url)
    except psycopg.Error as exc:
        return Finding.failed(
            f"cannot connect to {where}: {_reason(exc)}",
            action="check the instance is available (`aws rds describe-db-instances`), the "
            "security group allows this host on 5432, and the credentials (PGPASSWORD)",
        )
    details: list[str] = []
    problems: list[tuple[str, str | None]] = []
    with conn:
        ssl_row = conn.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
        server_version = conn.info.server_version
        details.append(f"connected to {where} (PostgreSQL {server_version // 10000})")
        if ssl_row and ssl_row[0]:
            details.append(f"SSL in use ({ssl_row[1]})")
        else:
            problems.append(
                (
                    f"the connection to {where} is not encrypted (no SSL)",
                    "turn SSL on at the server (RDS: parameter rds.force_ssl=1) and add "
                    "sslmode=require to metadata.database_url",
                )
            )
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        size_bytes = int(size[0]) if size else 0
    details.append(f"database size {size_bytes / GIB:.2f} GiB")
    if settings.metadata.replica_database_url:
        _replica(settings.metadata.replica_database_url, details, problems)
    if settings.metadata.rds_instance_id:
        _storage(settings.metadata.rds_instance_id, details, problems)
    else:
        details.append("free storage not checked: metadata.rds_instance_id is unset")
    if problems:
        return Finding.failed(
            "; ".join(what for what, _ in problems),
            *details,
            action=next((todo for _, todo in problems if todo), None),
        )
    return Finding.passed(f"{where} reachable over SSL", *details)


def _replica(url: str, details: list[str], problems: list[tuple[str, str | None]]) -> None:
    where = target(url)
    try:
        with connect(url) as conn:
            row = conn.execute(LAG_SQL).fetchone()
    except psycopg.Error as exc:
        problems.append((f"cannot connect to the replica {where}: {_reason(exc)}", None))
        return
    in_recovery, lag = (bool(row[0]), row[1]) if row else (False, None)
    if not in_recovery:
        problems.append(
            (
                f"{where} is not a replica (it is not in recovery)",
                "point metadata.replica_database_url at the read replica's endpoint",
            )
        )
        return
    lag_seconds = float(lag or 0.0)
    details.append(f"replica {where} lag {lag_seconds:.0f} s")
    if lag_seconds > REPLICA_LAG_MAX_SECONDS:
        problems.append(
            (
                f"replica {where} is {lag_seconds:.0f} s behind (limit "
                f"{REPLICA_LAG_MAX_SECONDS:.0f} s)",
                "look at ReplicaLag and the replica's CPU/IOPS in CloudWatch; reports read "
                "stale runs until it catches up",
            )
        )


def _storage(instance: str, details: list[str], problems: list[tuple[str, str | None]]) -> None:
    with aws.calling("rds", f"describing the DB instance {instance}"):
        described = aws.client("rds").describe_db_instances(DBInstanceIdentifier=instance)
    allocated_gib = float(described["DBInstances"][0]["AllocatedStorage"])
    now = datetime.now(UTC)
    with aws.calling("cloudwatch", f"reading FreeStorageSpace of {instance}"):
        points = aws.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="FreeStorageSpace",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": instance}],
            StartTime=now - timedelta(minutes=30),
            EndTime=now,
            Period=300,
            Statistics=["Minimum"],
        )["Datapoints"]
    if not points:
        problems.append(
            (
                f"no FreeStorageSpace datapoints for {instance} in the last 30 minutes",
                "check metadata.rds_instance_id names the instance and that it is running",
            )
        )
        return
    newest = max(points, key=lambda point: point["Timestamp"])
    free_gib = float(newest["Minimum"]) / GIB
    details.append(f"free storage {free_gib:.1f} GiB of {allocated_gib:.0f} GiB allocated")
    if free_gib < allocated_gib * FREE_STORAGE_MIN_FRACTION:
        problems.append(
            (
                f"storage nearly full: {free_gib:.1f} GiB free of {allocated_gib:.0f} GiB",
                f"raise the allocated storage (`aws rds modify-db-instance "
                f"--db-instance-identifier {instance} --allocated-storage <GiB> "
                "--apply-immediately`) or set max_allocated_storage for autoscaling",
            )
        )


CHECK = Check(
    id="postgres",
    title="Metadata database (PostgreSQL)",
    checks="Connects, SSL in use, replica lag where a replica is configured, storage headroom.",
    action="see the runbook: restart or fail over the instance, fix its security group, or "
    "grow its storage",
    severity=Severity.CRITICAL,
    time_to_resolve="30 minutes",
    run=run,
)
