"""Run doctor checks: select them, time them, never let one crash the report, apply fixers.

Results are data (`Result`), printed by the CLI as a table or JSON. A check that raises —
a `PlatformError` from an AWS call, a bug, a module that does not import — ends as a FAIL
finding with a one-line reason: the on-call engineer gets a report, not a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlplatform.doctor import registry
from mlplatform.doctor.base import RUNBOOK, Check, Finding, Severity, Status
from mlplatform.errors import PlatformError
from mlplatform.settings import Settings


@dataclass(frozen=True)
class Result:
    """One check's outcome. `check` is None only when the check's module would not load."""

    id: str
    finding: Finding
    seconds: float
    check: Check | None = None

    @property
    def severity(self) -> Severity:
        return self.check.severity if self.check else Severity.CRITICAL

    @property
    def time_to_resolve(self) -> str:
        return self.check.time_to_resolve if self.check else "unknown"

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK}#{self.id}"

    @property
    def action(self) -> str | None:
        """What to do, for a failure: the finding's own action, else the check's."""
        if self.finding.status is not Status.FAIL:
            return None
        return self.finding.action or (self.check.action if self.check else None)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.finding.status),
            "summary": self.finding.summary,
            "details": list(self.finding.details),
            "action": self.action,
            "severity": str(self.severity),
            "time_to_resolve": self.time_to_resolve,
            "runbook": self.runbook,
            "duration_seconds": round(self.seconds, 3),
        }


def select(only: Sequence[str] = ()) -> list[str]:
    """The check ids to run, in registry order; an unknown id is a usage error."""
    unknown = [check_id for check_id in only if check_id not in registry.CHECKS]
    if unknown:
        raise PlatformError(
            f"unknown check id {', '.join(repr(u) for u in unknown)} for --only",
            f"valid ids: {', '.join(registry.CHECKS)}",
        )
    wanted = set(only)
    return [check_id for check_id in registry.CHECKS if not wanted or check_id in wanted]


def one_line(exc: BaseException) -> str:
    if isinstance(exc, PlatformError):
        return exc.headline
    text = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {text}"


def _crashed(exc: Exception, doing: str) -> Finding:
    hint = exc.hint if isinstance(exc, PlatformError) and exc.hint else None
    return Finding.failed(f"{doing}: {one_line(exc)}", action=hint)


def run_one(check_id: str, settings: Settings) -> Result:
    started = time.perf_counter()
    try:
        check = registry.load(check_id)
    except Exception as exc:  # a broken check module must not hide the other checks
        return Result(check_id, _crashed(exc, "check did not load"), 0.0)
    try:
        finding = check.run(settings)
    except PlatformError as exc:
        finding = Finding.failed(exc.headline, action=exc.hint or None)
    except Exception as exc:
        finding = _crashed(exc, "check crashed")
    return Result(check_id, finding, time.perf_counter() - started, check)


def run(check_ids: Sequence[str], settings: Settings) -> list[Result]:
    return [run_one(check_id, settings) for check_id in check_ids]


def counts(results: Sequence[Result]) -> dict[str, int]:
    tally = {status: 0 for status in Status}
    for result in results:
        tally[result.finding.status] += 1
    return {
        "passed": tally[Status.PASS],
        "failed": tally[Status.FAIL],
        "not_configured": tally[Status.NOT_CONFIGURED],
    }


def summary_line(results: Sequence[Result]) -> str:
    tally = counts(results)
    return (
        f"{tally['passed']} passed, {tally['failed']} failed, "
        f"{tally['not_configured']} not configured"
    )


def failed(results: Sequence[Result]) -> bool:
    return any(result.finding.status is Status.FAIL for result in results)


def fix(
    results: Sequence[Result],
    settings: Settings,
    *,
    say: Callable[[str], None],
    confirm: Callable[[str], bool],
    dry_run: bool,
) -> list[Result]:
    """For each failed check with a fixer: show the plan, confirm, apply, re-run the check.

    Returns the results with each re-run check's new result in place of its old one.
    """
    return [
        _fix_one(result, settings, say, confirm, dry_run)
        if result.finding.status is Status.FAIL
        else result
        for result in results
    ]


def _fix_one(
    result: Result,
    settings: Settings,
    say: Callable[[str], None],
    confirm: Callable[[str], bool],
    dry_run: bool,
) -> Result:
    fixer = result.check.fixer if result.check else None
    if fixer is None:
        say(f"{result.id}: no automatic fix; see {result.runbook}")
        return result
    try:
        plan = fixer.plan(settings, result.finding)
    except Exception as exc:
        say(f"{result.id}: cannot plan a fix: {one_line(exc)}")
        return result
    if not plan:
        say(f"{result.id}: no automatic fix for this failure; see {result.runbook}")
        return result
    say(f"{result.id}: the fix would")
    for step in plan:
        say(f"  - {step}")
    if dry_run:
        say(f"{result.id}: dry run, nothing changed")
        return result
    if not confirm(f"Apply the fix for {result.id}?"):
        say(f"{result.id}: fix not applied")
        return result
    try:
        done = fixer.apply(settings, result.finding)
    except Exception as exc:
        say(f"{result.id}: the fix failed: {one_line(exc)}")
        return result
    say(f"{result.id}: {done}; checking again")
    return run_one(result.id, settings)
