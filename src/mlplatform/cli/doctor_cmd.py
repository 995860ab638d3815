"""`mlplatform doctor`: what is wrong with the platform, why, and what to do.

Exit codes: 0 when no check failed (not configured is not a failure), 1 when one did, 2 for a
usage error. `--json` prints one document on stdout; the fix dialogue then goes to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mlplatform.cli.console import err, out
from mlplatform.doctor import runner
from mlplatform.errors import PlatformError
from mlplatform.settings import get_settings

STATUS_STYLE = {"pass": "green", "fail": "bold red", "not configured": "dim"}


def doctor(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this check id (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Offer the fixer of each failed check that has one.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --fix: apply without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what --fix would do; change nothing.")
    ] = False,
) -> None:
    """Check the platform's endpoints one by one; exit 1 when a check fails."""
    if yes and not (fix or dry_run):
        raise PlatformError("--yes only applies to --fix", "add --fix, or drop --yes")
    check_ids = runner.select(only or ())
    settings = get_settings()
    if as_json:
        results = runner.run(check_ids, settings)
    else:
        with err.status("running checks"):
            results = runner.run(check_ids, settings)
    if fix or dry_run:
        console = err if as_json else out

        def say(line: str) -> None:
            console.print(line, highlight=False, soft_wrap=True, markup=False)

        def confirm(question: str) -> bool:
            return yes or typer.confirm(question, default=False, err=True)

        results = runner.fix(results, settings, say=say, confirm=confirm, dry_run=dry_run)
    if as_json:
        document = {
            "checks": [result.as_json() for result in results],
            "summary": runner.counts(results) | {"text": runner.summary_line(results)},
        }
        print(json.dumps(document, indent=2))
    else:
        print_results(results)
    if runner.failed(results):
        raise typer.Exit(1)


def print_results(results: Sequence[runner.Result]) -> None:
    table = Table(title="mlplatform doctor")
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("summary", overflow="fold")
    table.add_column("severity", no_wrap=True)
    table.add_column("time to resolve", no_wrap=True)
    for result in results:
        status = str(result.finding.status)
        table.add_row(
            result.id,
            f"[{STATUS_STYLE[status]}]{status}[/]",
            _plain(result.finding.summary),
            str(result.severity),
            result.time_to_resolve,
        )
    out.print(table)
    for result in results:
        if result.finding.status != "fail":
            continue
        out.print(
            f"\n[bold red]{result.id}[/] failed: {_plain(result.finding.summary)}",
            highlight=False,
            soft_wrap=True,
        )
        for detail in result.finding.details:
            out.print(f"  {_plain(detail)}", highlight=False, soft_wrap=True)
        if result.action:
            out.print(f"  action: {_plain(result.action)}", highlight=False, soft_wrap=True)
        out.print(f"  runbook: {result.runbook}", highlight=False, soft_wrap=True)
    if runner.failed(results):
        out.print()
    out.print(runner.summary_line(results), highlight=False)


def _plain(text: str) -> str:
    """Findings quote servers and URLs: print their brackets, never read them as markup."""
    return escape(text)
