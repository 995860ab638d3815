"""Alert rule state in SQLite: `for`, `cooldown`, dedup keys, one resolve per trigger.

Per dedup key an incident is `idle`, `pending` (firing, not yet announced) or `open` (a
trigger went out). On each `step`, for each key:

- firing, idle or pending: it is pending since the first check that saw it firing. It
  triggers once it has fired on every check for at least the rule's `for` *and* the cooldown
  allows: `cooldown` is the least time between two triggers of one key, counted from the earlier
  trigger's time (not from its resolve). A condition that clears and returns within the
  cooldown stays pending, silently, and triggers at the first check after the cooldown ends if
  it still fires; if it clears first, nothing is sent at all (no trigger, so no resolve).
- firing, open: nothing (no repeat while it keeps firing).
- not firing: open -> exactly one resolve with the same dedup key; pending -> idle, silently.
- missing: a rule whose result is `complete` treats it as not firing; otherwise no news, the
  incident keeps its status (a pipeline with no new run has not recovered).

Alert ids are `sha256(dedup_key, state, incident start)[:16]`, the start being the trigger's
time, so a trigger and its resolve pair up and a repeat of either has the same id.

Crash safety. `step` computes the transitions, stores them *and* the alerts they produce in one
SQLite transaction (table `rule_unsent`), then returns every alert not yet marked sent. The
caller hands them to the outbox, then calls `mark_sent`; `dispatch` does the three in order.
A crash before the commit loses nothing (the next check recomputes from the old state); a crash
after it but before `mark_sent` makes the next `step` return the same alerts with the same ids,
and the outbox, keyed by `Alert.id`, keeps one copy. So the outbox gets every alert at least
once and never a new id for an old event. Tables are prefixed `rule_`: the outbox may share the
file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from mlplatform.errors import PlatformError
from mlplatform.monitoring.evaluate import Condition, RuleResult, by_dedup_key
from mlplatform.monitoring.records import Alert, Severity
from mlplatform.monitoring.rules import AlertRule
from mlplatform.settings import Settings, get_settings, home

IDLE_RETENTION = timedelta(days=8)  # longer than the longest cooldown (7d)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_incidents (
    dedup_key TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('idle', 'pending', 'open')),
    firing_since TEXT,
    last_trigger TEXT,
    summary TEXT NOT NULL,
    details TEXT NOT NULL,
    link TEXT,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_unsent (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    alert TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Incident:
    """One dedup key's stored state (for `monitor status` and tests)."""

    dedup_key: str
    rule: str
    severity: str
    status: Literal["idle", "pending", "open"]
    firing_since: datetime | None
    last_trigger: datetime | None
    summary: str


def alert_id(dedup_key: str, state: str, started: datetime) -> str:
    text = f"{dedup_key}\n{state}\n{_iso(started)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_state_path(settings: Settings | None = None) -> Path:
    configured = (settings or get_settings()).alerts.state_db
    return Path(configured).expanduser() if configured else home() / "monitoring/alerts.sqlite"


class RuleState:
    """The rule state kept in one SQLite file; every call opens and closes its connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RuleState:
        return cls(default_state_path(settings))

    def step(self, results: Sequence[RuleResult], now: datetime) -> list[Alert]:
        """Apply one evaluation; return every alert not yet `mark_sent`, oldest first."""
        now = _utc(now)
        claimed = by_dedup_key((r.rule, c) for r in results for c in r.conditions)
        complete = {result.rule.name for result in results if result.complete}
        with self._transaction() as db:
            rows = {row["dedup_key"]: row for row in db.execute("SELECT * FROM rule_incidents")}
            for key, (rule, condition) in claimed.items():
                if condition.firing:
                    _fire(db, rule, condition, rows.get(key), now)
                elif key in rows:
                    _clear(db, rows[key], condition, now)
            for key, row in rows.items():
                if key not in claimed and row["rule"] in complete:
                    _clear(db, row, None, now)
            db.execute(
                "DELETE FROM rule_incidents WHERE status = 'idle' AND updated < ?",
                (_iso(now - IDLE_RETENTION),),
            )
            unsent = db.execute("SELECT alert FROM rule_unsent ORDER BY seq").fetchall()
        return [_alert_from_json(row["alert"]) for row in unsent]

    def mark_sent(self, alert_ids: Iterable[str]) -> None:
        """Forget alerts the outbox now holds; later `step`s no longer return them."""
        with self._transaction() as db:
            db.executemany("DELETE FROM rule_unsent WHERE id = ?", [(i,) for i in alert_ids])

    def dispatch(
        self,
        results: Sequence[RuleResult],
        now: datetime,
        deliver: Callable[[list[Alert]], object],
    ) -> list[Alert]:
        """`step`, `deliver(alerts)` (e.g. the outbox's enqueue), then `mark_sent`. If
        `deliver` raises, the alerts stay unsent and the next check hands them over again."""
        alerts = self.step(results, now)
        if alerts:
            deliver(alerts)
            self.mark_sent(alert.id for alert in alerts)
        return alerts

    def incidents(self) -> list[Incident]:
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM rule_incidents ORDER BY dedup_key").fetchall()
        return [
            Incident(
                dedup_key=row["dedup_key"],
                rule=row["rule"],
                severity=row["severity"],
                status=row["status"],
                firing_since=_time(row["firing_since"]),
                last_trigger=_time(row["last_trigger"]),
                summary=row["summary"],
            )
            for row in rows
        ]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: concurrent checks take turns)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise _state_error(self.path, exc) from None
        db.row_factory = sqlite3.Row
        try:
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from None
        finally:
            db.close()


def _fire(
    db: sqlite3.Connection,
    rule: AlertRule,
    condition: Condition,
    row: sqlite3.Row | None,
    now: datetime,
) -> None:
    if row is not None and row["status"] == "open":
        return
    pending = row is not None and row["status"] == "pending"
    since = _time(row["firing_since"]) if pending and row is not None else None
    since = since or now
    last = _time(row["last_trigger"]) if row is not None else None
    due = now - since >= rule.for_ and (last is None or now - last >= rule.cooldown)
    db.execute(
        "INSERT INTO rule_incidents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (dedup_key) DO UPDATE SET rule = excluded.rule, "
        "severity = excluded.severity, status = excluded.status, "
        "firing_since = excluded.firing_since, last_trigger = excluded.last_trigger, "
        "summary = excluded.summary, details = excluded.details, link = excluded.link, "
        "updated = excluded.updated",
        (
            condition.dedup_key,
            rule.name,
            rule.severity,
            "open" if due else "pending",
            _iso(since),
            _iso(now) if due else (_iso(last) if last else None),
            condition.summary,
            json.dumps(condition.details, sort_keys=True),
            condition.link,
            _iso(now),
        ),
    )
    if due:
        _emit(db, "trigger", rule.name, rule.severity, now, now, condition)


def _clear(
    db: sqlite3.Connection, row: sqlite3.Row, condition: Condition | None, now: datetime
) -> None:
    if row["status"] == "idle":
        return
    db.execute(
        "UPDATE rule_incidents SET status = 'idle', firing_since = NULL, updated = ? "
        "WHERE dedup_key = ?",
        (_iso(now), row["dedup_key"]),
    )
    if row["status"] != "open":
        return
    if condition is None:  # the scope is gone: say so with what the trigger said
        summary, details = f"cleared: {row['summary']}", json.loads(row["details"])
        condition = Condition(row["dedup_key"], False, summary, details, row["link"])
    started = _time(row["last_trigger"]) or now
    _emit(db, "resolve", row["rule"], row["severity"], started, now, condition)


def _emit(
    db: sqlite3.Connection,
    state: Literal["trigger", "resolve"],
    rule: str,
    severity: Severity,
    started: datetime,
    now: datetime,
    condition: Condition,
) -> None:
    """Queue one alert in `rule_unsent`, inside the caller's transaction."""
    alert = Alert(
        id=alert_id(condition.dedup_key, state, started),
        dedup_key=condition.dedup_key,
        rule=rule,
        state=state,
        severity=severity,
        summary=condition.summary,
        details=condition.details | {"incident_started": _iso(started)},
        link=condition.link,
        created=now,
    )
    record = asdict(alert) | {"created": _iso(now)}
    db.execute(
        "INSERT OR IGNORE INTO rule_unsent (id, alert) VALUES (?, ?)",
        (alert.id, json.dumps(record, sort_keys=True)),
    )


def _alert_from_json(text: str) -> Alert:
    data = json.loads(text)
    return Alert(**(data | {"created": _time(data["created"])}))


def _state_error(path: Path, exc: BaseException) -> PlatformError:
    return PlatformError(
        f"{path}: cannot use the alert state database ({exc})",
        "point alerts.state_db (MLPLATFORM_ALERTS__STATE_DB) at a writable SQLite file",
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("rule state needs timezone-aware times")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
