"""The registry's tag scheme: state tags, one dated event tag per action, newest event wins.

Champion state lives in Metaflow run tags, the one part of a finished run that can still
change, so the registry works alike on the local folder and on the metadata service. A change
of champion touches two runs (tag the new one, untag the old) and no store offers a transaction
across runs; so each promotion also writes a dated event tag on the run it promotes, and "the
champion" is the `champion`-tagged run with the newest promotion event. A crash between the two
writes leaves two `champion` tags that still read correctly; the next write removes the stale
one. The events are also the audit trail: who promoted, demoted or rolled back what, and why.

Everything here is pure: tags in, decisions out. `store.py` reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

REGISTERED = "registered"
CHAMPION = "champion"
GATE_FAILED = "gate:failed"
PIPELINE_PREFIX = "pipeline:"
EVENT_PREFIX = "registry:"

MAX_TAG_LENGTH = 500  # metaflow.tagging_util.MAX_TAG_SIZE
# Metaflow refuses a run more than 50 user tags; leave room for the state tags and the user's own.
MAX_EVENTS = 40
# ISO 8601 basic format: no ':' inside, so an event tag splits on ':' without ambiguity.
TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"

PROMOTIONS = frozenset({"promoted", "restored"})
DEMOTIONS = frozenset({"demoted", "rolled-back"})
ACTIONS = PROMOTIONS | DEMOTIONS | {"registered"}


@dataclass(frozen=True, order=True)
class Event:
    """One recorded action on one run: `registry:<utc time>:<action>:<user>:<detail>`."""

    at: datetime
    action: str
    user: str
    detail: str = ""

    def tag(self) -> str:
        user = self.user.replace(":", "_") or "unknown"
        head = f"{EVENT_PREFIX}{self.at.astimezone(UTC):{TIME_FORMAT}}:{self.action}:{user}:"
        return head + self.detail[: MAX_TAG_LENGTH - len(head)]


def parse_event(tag: str) -> Event | None:
    """The event a tag records, or None for any other tag (a user's own `registry:...` too)."""
    if not tag.startswith(EVENT_PREFIX):
        return None
    parts = tag[len(EVENT_PREFIX) :].split(":", 3)
    if len(parts) < 3 or parts[1] not in ACTIONS:
        return None
    try:
        at = datetime.strptime(parts[0], TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return Event(at, parts[1], parts[2], parts[3] if len(parts) > 3 else "")


def events_of(tags: Iterable[str]) -> list[Event]:
    """A run's events, oldest first."""
    return sorted(e for e in map(parse_event, tags) if e is not None)


def next_time(seen: Iterable[Event], now: datetime | None = None) -> datetime:
    """Now, or just after the newest event already written if this machine's clock is behind:
    the order of events must follow the order of actions, or a promotion could lose to the one
    it replaced."""
    now = now or datetime.now(UTC)
    newest = max((e.at for e in seen), default=None)
    return now if newest is None or now > newest else newest + timedelta(microseconds=1)


def pipeline_of(tags: Iterable[str]) -> str | None:
    return next((t[len(PIPELINE_PREFIX) :] for t in tags if t.startswith(PIPELINE_PREFIX)), None)


@dataclass(frozen=True)
class Record:
    """What the registry knows of a run from its tags alone (no artifact loads)."""

    pathspec: str
    tags: frozenset[str]

    @property
    def events(self) -> list[Event]:
        return events_of(self.tags)

    @property
    def promoted_at(self) -> datetime | None:
        """When this run last became champion."""
        return max((e.at for e in self.events if e.action in PROMOTIONS), default=None)

    @property
    def registered_at(self) -> datetime | None:
        return next((e.at for e in self.events if e.action == "registered"), None)

    @property
    def champion_tagged(self) -> bool:
        return CHAMPION in self.tags


def _run_order(pathspec: str) -> tuple[int, str]:
    """Run ids grow with time on both stores (microseconds locally, a sequence on the service)."""
    run_id = pathspec.rsplit("/", 1)[-1]
    return (int(run_id), "") if run_id.isdigit() else (0, run_id)


def _champion_key(record: Record) -> tuple[datetime, tuple[int, str]]:
    # A run tagged `champion` before events existed counts as promoted at the dawn of time.
    return (record.promoted_at or datetime.min.replace(tzinfo=UTC), _run_order(record.pathspec))


def current_champion(records: Iterable[Record]) -> Record | None:
    """The `champion`-tagged run promoted last; other `champion` tags are stale."""
    return max((r for r in records if r.champion_tagged), key=_champion_key, default=None)


def stale_champions(records: Iterable[Record]) -> list[Record]:
    """`champion` tags left behind by an interrupted change of champion."""
    records = list(records)
    current = current_champion(records)
    return [r for r in records if r.champion_tagged and r is not current]


def previous_champion(records: Iterable[Record]) -> Record | None:
    """The champion just before the current one took over: the run promoted last before it.

    Rollback restores this run and records a new promotion, so a second rollback finds the run
    it replaced and returns to where it started.
    """
    records = list(records)
    current = current_champion(records)
    if current is None or current.promoted_at is None:
        return None
    before = [
        (e.at, r)
        for r in records
        if r.pathspec != current.pathspec
        for e in r.events
        if e.action in PROMOTIONS and e.at < current.promoted_at
    ]
    return max(before, key=lambda pair: pair[0])[1] if before else None


def events_to_drop(existing: Iterable[Event], adding: int) -> list[Event]:
    """The oldest events to remove so a run keeps at most MAX_EVENTS, never its last promotion
    (which decides who is champion) nor its registration."""
    events = sorted(existing)
    excess = len(events) + adding - MAX_EVENTS
    if excess <= 0:
        return []
    last_promotion = max((e for e in events if e.action in PROMOTIONS), default=None)
    droppable = [e for e in events if e is not last_promotion and e.action != "registered"]
    return droppable[:excess]
