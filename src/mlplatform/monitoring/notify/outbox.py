"""The alert outbox: one SQLite row per (alert id, endpoint), kept until the endpoint confirms.

An alert is written here before anything is sent, so an endpoint outage (or a crash) delays
it and never loses it. A row is `pending` until delivered (`confirmed`, never sent again) or
refused for good (`dead`: reported, kept, and requeued by `requeue_dead` once fixed).

The file is shared by processes (`monitor check` runs, a doctor): WAL mode, each change one
`BEGIN IMMEDIATE` transaction on its own connection, and a lease per endpoint so that only one
process at a time sends to an endpoint (no duplicate sends, order kept).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from mlplatform.errors import PlatformError
from mlplatform.monitoring.notify.format import alert_from_dict, alert_to_dict
from mlplatform.monitoring.records import Alert
from mlplatform.settings import AlertsSettings, home

Status = Literal["pending", "confirmed", "dead"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_outbox (
    alert_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    alert TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    last_error TEXT,
    changed REAL NOT NULL,
    PRIMARY KEY (alert_id, endpoint)
);
CREATE INDEX IF NOT EXISTS notify_outbox_queue ON notify_outbox (endpoint, status, created);
CREATE TABLE IF NOT EXISTS notify_leases (
    endpoint TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL
);
"""
_COLUMNS = "alert, endpoint, status, attempts, failures, next_attempt_at, last_error"


@dataclass(frozen=True)
class OutboxEntry:
    alert: Alert
    endpoint: str
    status: Status
    attempts: int  # sends tried, over all runs
    failures: int  # delivery runs that ended without success (drives the backoff)
    next_attempt_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Backlog:
    endpoint: str
    pending: int
    dead: int
    oldest_pending: datetime | None  # creation time of the oldest alert still waiting


class Outbox:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc) from None
        with closing(self._connect()) as conn:
            try:
                conn.executescript(_SCHEMA)  # each statement is idempotent and atomic
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    @classmethod
    def from_settings(cls, alerts: AlertsSettings) -> Outbox:
        """`alerts.state_db` when set, else `<MLPLATFORM_HOME>/monitoring/alerts.sqlite`."""
        if alerts.state_db:
            return cls(Path(alerts.state_db).expanduser())
        return cls(home() / "monitoring" / "alerts.sqlite")

    def enqueue(self, alert: Alert, endpoints: Iterable[str]) -> int:
        """Store `alert` once per endpoint; rows that exist are left alone. Returns rows added."""
        stored = json.dumps(alert_to_dict(alert), sort_keys=True)
        now = time.time()
        created = _epoch(alert.created) if alert.created else now
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO notify_outbox (alert_id, endpoint, alert, created, changed)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (alert.id, endpoint, stored, created, now)
                    for endpoint in dict.fromkeys(endpoints)
                ],
            )
            return conn.total_changes - before

    def pending(self, endpoint: str) -> list[OutboxEntry]:
        """The endpoint's undelivered alerts, oldest first (creation time, then enqueue order)."""
        return self._entries("endpoint = ? AND status = 'pending'", (endpoint,))

    def dead_letters(self, endpoint: str | None = None) -> list[OutboxEntry]:
        where = "status = 'dead'" + (" AND endpoint = ?" if endpoint else "")
        return self._entries(where, (endpoint,) if endpoint else ())

    def confirm(self, alert_id: str, endpoint: str) -> None:
        self._update(
            "status = 'confirmed', next_attempt_at = NULL, attempts = attempts + 1",
            (),
            alert_id,
            endpoint,
        )

    def record_failure(
        self,
        alert_id: str,
        endpoint: str,
        error: str,
        *,
        attempts: int,
        next_attempt_at: datetime | None,
        permanent: bool = False,
    ) -> None:
        """Count `attempts` failed sends; a permanent failure dead-letters the row."""
        status = "dead" if permanent else "pending"
        when = None if permanent or next_attempt_at is None else _epoch(next_attempt_at)
        self._update(
            "status = ?, attempts = attempts + ?, failures = failures + 1,"
            " next_attempt_at = ?, last_error = ?",
            (status, attempts, when, error[:1000]),
            alert_id,
            endpoint,
        )

    def requeue_dead(self, endpoint: str | None = None) -> int:
        """Make dead letters pending again (after the endpoint's configuration is fixed)."""
        where = "status = 'dead'" + (" AND endpoint = ?" if endpoint else "")
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE notify_outbox SET status = 'pending', next_attempt_at = NULL, changed = ?"
                f" WHERE {where}",
                (time.time(), *((endpoint,) if endpoint else ())),
            )
            return cursor.rowcount

    def backlog(self) -> list[Backlog]:
        """Per endpoint with anything undelivered: pending and dead counts, oldest pending."""
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT endpoint, SUM(status = 'pending'), SUM(status = 'dead'),"
                " MIN(CASE WHEN status = 'pending' THEN created END)"
                " FROM notify_outbox WHERE status != 'confirmed'"
                " GROUP BY endpoint ORDER BY endpoint"
            ).fetchall()
        return [
            Backlog(endpoint, int(pending), int(dead), _moment(oldest))
            for endpoint, pending, dead, oldest in rows
        ]

    def acquire(self, endpoint: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the right to send to `endpoint` for `seconds`; False if another
        holder's lease has not expired (a crashed holder's lease simply runs out)."""
        now = time.time()
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO notify_leases (endpoint, holder, until) VALUES (?, ?, ?)"
                " ON CONFLICT (endpoint) DO UPDATE SET holder = excluded.holder,"
                " until = excluded.until WHERE until < ? OR holder = excluded.holder",
                (endpoint, holder, now + seconds, now),
            )
            return cursor.rowcount == 1

    def release(self, endpoint: str, holder: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM notify_leases WHERE endpoint = ? AND holder = ?", (endpoint, holder)
            )

    def _entries(self, where: str, params: tuple[str, ...]) -> list[OutboxEntry]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM notify_outbox WHERE {where} ORDER BY created, rowid",
                params,
            ).fetchall()
        return [
            OutboxEntry(
                alert_from_dict(json.loads(stored)),
                endpoint,
                status,
                attempts,
                failures,
                _moment(next_at),
                last_error,
            )
            for stored, endpoint, status, attempts, failures, next_at, last_error in rows
        ]

    def _update(
        self, assignments: str, params: tuple[object, ...], alert_id: str, endpoint: str
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                f"UPDATE notify_outbox SET {assignments}, changed = ?"
                " WHERE alert_id = ? AND endpoint = ? AND status != 'confirmed'",
                (*params, time.time(), alert_id, endpoint),
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._error(exc) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return conn

    def _error(self, exc: Exception) -> PlatformError:
        return PlatformError(
            f"cannot use the alert outbox {self.path}: {exc}",
            "it must be a writable SQLite file: fix its permissions, or set alerts.state_db",
        )


def _epoch(moment: datetime) -> float:
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).timestamp()


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
