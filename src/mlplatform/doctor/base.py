"""What a doctor check is, and what it reports.

A check runs against the configured endpoints (the same settings every other command uses) and
ends in one of three states: it passed, it failed, or there is nothing to check at this site
(not configured, which is not a failure). Every check carries its runbook section: the section
in docs/runbook.md whose heading is the check's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlplatform.settings import Settings

RUNBOOK = "docs/runbook.md"


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_CONFIGURED = "not configured"


class Severity(StrEnum):
    CRITICAL = "critical"  # pipelines or logins are down: page
    WARNING = "warning"  # degraded or about to break: fix in working hours


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: a one-line summary, the probes behind it, what to do."""

    status: Status
    summary: str
    details: tuple[str, ...] = ()
    # What to do about this failure when it is more specific than the check's general action.
    action: str | None = None

    @classmethod
    def passed(cls, summary: str, *details: str) -> Finding:
        return cls(Status.PASS, summary, tuple(details))

    @classmethod
    def failed(cls, summary: str, *details: str, action: str | None = None) -> Finding:
        return cls(Status.FAIL, summary, tuple(details), action)

    @classmethod
    def not_configured(cls, summary: str) -> Finding:
        return cls(Status.NOT_CONFIGURED, summary)


@dataclass(frozen=True)
class Fixer:
    """A repair `doctor --fix` may make: `plan` says what it would do (the dry run), `apply`
    does it and returns what it did. Both get the settings and the failing finding."""

    plan: Callable[[Settings, Finding], list[str]]
    apply: Callable[[Settings, Finding], str]


@dataclass(frozen=True)
class Check:
    id: str  # also the heading of its runbook section
    title: str
    checks: str  # what it checks, one sentence
    action: str  # what to do when it fails, one sentence
    severity: Severity
    time_to_resolve: str  # expected time to resolve, e.g. "15 minutes"
    run: Callable[[Settings], Finding]
    fixer: Fixer | None = None
    area: str = field(default="")  # for --only; defaults to the id

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK}#{self.id}"

    @property
    def only_key(self) -> str:
        return self.area or self.id
