"""Run records read straight from the Metaflow metadata service's PostgreSQL database.

Two queries in one read-only REPEATABLE READ transaction (so both see the same snapshot; a
hot-standby read replica allows it): runs with their status, then one row per task attempt
(a third finds failed attempts' `_exception` artifacts when an exception reader is given).
Status is derived as the Metaflow UI backend derives it (`RUNS_SQL` cites the file), so the
platform and the UI never disagree. What the service's database does not hold stays None:

- exception type: every finished attempt has an `_exception` artifact row, but its value lives
  in the datastore. Pass `exception_reader` (one datastore read per failed run) to fill it.
- queue wait: Batch attempts record `aws-batch-job-id` and `ec2-instance-type`, not when the
  job was submitted, so `queue_wait_seconds` is None (Batch DescribeJobs has createdAt and
  startedAt per job id). Task row creation -> `attempt` is no stand-in: under Step Functions
  the task row is created inside the container, so that gap is not queueing.
- cpu_seconds: nothing in the database says how many cores a local task had: None.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from mlplatform.errors import PlatformError
from mlplatform.monitoring.records import RunRecord, RunStatus, TaskRecord
from mlplatform.monitoring.sql_queries import (
    ATTEMPTS_SQL,
    EXCEPTION_SQL,
    OLD_RUN_FAILURE_CUTOFF_MS,
    RUNS_SQL,
)
from mlplatform.settings import Settings


@dataclass(frozen=True)
class ExceptionRef:
    """Where a failed attempt's `_exception` artifact lives; its value is in the datastore."""

    pathspec: str  # flow/run/step/task
    attempt: int
    ds_type: str
    location: str
    sha: str | None


ExceptionReader = Callable[[ExceptionRef], str | None]  # -> exception type name


# One attempts row: flow, run_number, step, task_id (bigint), task id as shown, attempt,
# started, finished, ok (None: no outcome yet), instance type.
_Row = tuple[Any, ...]
_RunKey = tuple[str, int]  # (flow_id, run_number)
_Read = tuple[
    list[_Row], dict[_RunKey, list[_Row]], dict[_RunKey, _Row | None], dict[_RunKey, ExceptionRef]
]


def masked_url(database_url: str) -> str:
    """`postgresql://user@host:port/db`: what a message may show (never the password)."""
    try:
        parts = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError:
        raise PlatformError(
            "metadata.database_url is not a valid PostgreSQL URL",
            "use postgresql://user@host:5432/dbname",
        ) from None
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = parts.get("host") or "localhost"
    return f"postgresql://{user}{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


class SqlCollector:
    """`RunCollector` over the metadata database (point it at the read replica in production)."""

    def __init__(
        self,
        database_url: str,
        heartbeat_cutoff_seconds: int = 600,
        now: Callable[[], datetime] | None = None,
        *,
        exception_reader: ExceptionReader | None = None,
        connect_timeout_seconds: int = 10,
    ) -> None:
        self._url = database_url
        self._masked = masked_url(database_url)
        self._cutoff = heartbeat_cutoff_seconds
        self._now = now or (lambda: datetime.now(UTC))
        self._read_exception = exception_reader
        self._timeout = connect_timeout_seconds

    @classmethod
    def from_settings(
        cls, settings: Settings, exception_reader: ExceptionReader | None = None
    ) -> SqlCollector:
        url = settings.metadata.database_url
        if not url:
            raise PlatformError(
                "metadata.database_url is not set: the SQL collector has no database to read",
                "set MLPLATFORM_METADATA__DATABASE_URL=postgresql://user@replica-host:5432/db "
                "(keep the password in PGPASSWORD or ~/.pgpass)",
            )
        cutoff = settings.monitoring.heartbeat_cutoff_seconds
        return cls(url, cutoff, exception_reader=exception_reader)

    def describe(self) -> str:
        return f"metadata database {self._masked}"

    def ping(self) -> None:
        """Raise PlatformError when the database cannot be reached (the 'unreachable' alert)."""
        with self._connect() as conn:
            conn.execute("SELECT 1")

    def collect(self, since: datetime, flows: list[str] | None = None) -> list[RunRecord]:
        if flows is not None and not flows:
            return []
        if since.tzinfo is None:  # records are UTC throughout; a naive bound means UTC too
            since = since.replace(tzinfo=UTC)
        # ~10^5 rows and records arrive in a burst and none forms a cycle; left on, the cyclic
        # collector rescans them over and over (half the Python time at 10,000 runs).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            runs, by_run, failed, refs = self._read(since, flows)
            # Datastore reads come after the transaction: a replica cancels long snapshots.
            read = self._read_exception
            exceptions = {key: name for key, ref in refs.items() if read and (name := read(ref))}
            return [_record(r, by_run.get((r[0], r[1]), []), failed, exceptions) for r in runs]
        finally:
            if gc_was_on:
                gc.enable()

    def _read(self, since: datetime, flows: list[str] | None) -> _Read:
        """Runs, their attempts by run, failing attempts and their `_exception` artifacts."""
        now = self._now().timestamp()
        params = {"since_ms": round(since.timestamp() * 1000), "now_s": int(now),
                  "now_ms": round(now * 1000), "cutoff_s": self._cutoff,
                  "old_ms": OLD_RUN_FAILURE_CUTOFF_MS, "flows": flows}  # fmt: skip
        where = "AND r.flow_id = ANY(%(flows)s)" if flows else ""
        with self._connect() as conn:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
            try:
                with conn.transaction():
                    # one big aggregation: hash it in memory, skip JIT's compile time, and
                    # let psycopg's C loaders build UTC datetimes from binary results
                    conn.execute(
                        "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off; "
                        "SET LOCAL TIME ZONE 'UTC'"
                    )
                    query = RUNS_SQL.format(flow_filter=where)
                    runs = conn.execute(query, params, binary=True).fetchall()
                    query = ATTEMPTS_SQL.format(flow_filter=where)
                    rows = conn.execute(query, params, binary=True).fetchall()
                    by_run: dict[_RunKey, list[_Row]] = {}
                    for row in rows:
                        by_run.setdefault((row[0], row[1]), []).append(row)
                    for attempts in by_run.values():  # creation order: ids come from a sequence
                        attempts.sort(key=itemgetter(3, 5))
                    failed = {(r[0], r[1]): _failing_attempt(by_run.get((r[0], r[1]), []))
                              for r in runs if r[7] == "failed"}  # fmt: skip
                    return runs, by_run, failed, self._exception_refs(conn, failed)
            except psycopg.errors.UndefinedTable as exc:
                raise PlatformError(
                    f"{self._masked} has no Metaflow metadata table: {exc.diag.message_primary}",
                    "point metadata.database_url at the metadata service's database",
                ) from None
            except psycopg.OperationalError as exc:  # dropped, cancelled, replica conflict
                raise PlatformError(
                    f"the metadata database at {self._masked} stopped a query: {_first_line(exc)}",
                    "retry; on a read replica, raise max_standby_streaming_delay if it repeats",
                ) from None

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self._url, connect_timeout=self._timeout, application_name="mlplatform-monitoring"
            )
        except psycopg.OperationalError as exc:
            reason = re.sub(r"^.*? port \d+ failed: ", "", _first_line(exc))
            password = conninfo_to_dict(self._url).get("password")
            if password:  # libpq does not echo it; be sure
                reason = reason.replace(str(password), "***")
            raise PlatformError(
                f"cannot reach the metadata database at {self._masked}: {reason}",
                "check host, port and credentials, and that this machine may connect "
                "(security group, pg_hba.conf)",
            ) from None

    def _exception_refs(
        self, conn: psycopg.Connection[Any], failed: Mapping[_RunKey, _Row | None]
    ) -> dict[_RunKey, ExceptionRef]:
        """Where each failed run's exception is stored: one query for all of them."""
        targets = [row for row in failed.values() if row is not None and row[8] is False]
        if self._read_exception is None or not targets:
            return {}
        # flow, run_number, step, task_id, attempt: the artifact's primary key minus its name
        columns = [[row[i] for row in targets] for i in (0, 1, 2, 3, 5)]
        return {
            (flow, run): ExceptionRef(f"{flow}/{run}/{step}/{task}", attempt, ds_type, where, sha)
            for flow, run, step, task, attempt, where, ds_type, sha in conn.execute(
                EXCEPTION_SQL, columns
            )
        }


def _record(
    row: _Row,
    attempts: list[_Row],
    failed: Mapping[_RunKey, _Row | None],
    exceptions: Mapping[_RunKey, str],
) -> RunRecord:
    flow, run_number, run_id, user, started, tags, system_tags, status, finished = row
    # One pass over the attempts: 10,000 runs have about 100,000 of them.
    tasks: list[TaskRecord] = []
    spans: dict[str, tuple[datetime, datetime]] = {}
    retries, last_end = 0, finished
    for _flow, _run, step, _key, task, attempt, begin, end, _ok, instance in attempts:
        tasks.append(TaskRecord(step, task, begin, end, attempt, instance))
        retries += attempt > 0
        if begin is not None and end is not None:
            first, last = spans.get(step, (begin, end))
            spans[step] = (min(first, begin), max(last, end))
            last_end = end if last_end is None else max(last_end, end)
    if status == "failed":  # a heartbeat lags by up to its interval; outcomes are exact
        finished = max(started, last_end or started)
    user_tags = _tag_list(tags)
    named: dict[str, str] = {}  # `project:churn` -> {"project": "churn"}; the first one wins
    for tag in user_tags + _tag_list(system_tags):
        key, colon, value = tag.partition(":")
        if colon:
            named.setdefault(key, value)
    culprit = failed.get((flow, run_number))
    return RunRecord(
        flow=flow,
        run_id=run_id,
        user=user,
        status=_status(status),
        started=started,
        finished=None if status == "running" else finished,
        project=named.get("project"),
        branch=named.get("project_branch"),
        team=named.get("team"),
        tags=frozenset(user_tags),
        step_seconds={step: (end - begin).total_seconds() for step, (begin, end) in spans.items()},
        failing_step=culprit[2] if culprit else None,
        exception_type=exceptions.get((flow, run_number)),
        retries=retries,
        tasks=tuple(tasks),
    )


def _failing_attempt(attempts: list[_Row]) -> _Row | None:
    """The latest failed last attempt of a task, else the latest one that never reported."""
    latest: dict[int, _Row] = {}
    for a in attempts:
        if a[3] not in latest or a[5] > latest[a[3]][5]:
            latest[a[3]] = a
    failed = [a for a in latest.values() if a[8] is False]
    if failed:
        return max(failed, key=lambda a: a[7] or a[6])
    silent = [a for a in latest.values() if a[8] is None and a[6]]
    return max(silent, key=lambda a: a[6]) if silent else None


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _tag_list(value: Any) -> list[str]:
    # a jsonb cell can hold the JSON literal null, which arrives as None
    return [str(tag) for tag in value] if isinstance(value, list) else []


def _status(value: str) -> RunStatus:
    return "completed" if value == "completed" else "failed" if value == "failed" else "running"
