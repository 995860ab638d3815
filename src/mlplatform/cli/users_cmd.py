"""`mlplatform users add|remove|disable|list|show|sync|mfa`: people on the platform.

Every change command prints its plan first (`--dry-run` stops there), applies it with a
progress bar, and ends with what was done and what is left. A partial failure exits 2 with
one line naming the component and saying to rerun the same command once it is fixed.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlplatform.cli.console import err, out, steps_progress
from mlplatform.errors import PlatformError
from mlplatform.settings import get_settings
from mlplatform.users.manager import Outcome, UserManager, UserPlan
from mlplatform.users.model import UserSpec, load_roster
from mlplatform.users.plan import SYMBOLS

app = typer.Typer(help="Onboard, offboard and list platform users.", no_args_is_help=True)
mfa_app = typer.Typer(help="TOTP second factor for the hub login.", no_args_is_help=True)
app.add_typer(mfa_app, name="mfa")

DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan and change nothing.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Username = Annotated[str, typer.Argument(help="Login name.")]


def _manager() -> UserManager:
    return UserManager.from_settings(get_settings())


def print_plans(plans: list[UserPlan]) -> None:
    if not plans:
        out.print("No changes: the directory and every component match the desired state.")
        return
    counts = {"+": 0, "~": 0, "-": 0, ">": 0}
    out.print("mlplatform users will make these changes:\n")
    for plan in plans:
        out.print(f"  [bold]{plan.username}[/] ({plan.operation})")
        for action in plan.actions:
            counts[SYMBOLS[action.verb]] += 1
            colour = {"+": "green", "~": "yellow", "-": "red", ">": "cyan"}[SYMBOLS[action.verb]]
            out.print(f"    [{colour}]{action.describe()}[/]", highlight=False)
        for component, message in plan.problems:
            out.print(f"    [bold red]! {component}: cannot plan: {message}[/]", highlight=False)
    out.print(
        f"\nPlan: {counts['+']} to add, {counts['~']} to change, {counts['-']} to remove, "
        f"{counts['>']} to archive."
    )


def apply_plans(manager: UserManager, plans: list[UserPlan], command: str) -> None:
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with steps_progress() as progress:
        task = progress.add_task("applying", total=len(plans))
        for plan in plans:
            progress.update(task, description=f"{plan.operation} {plan.username}")
            outcomes.append(manager.apply(plan))
            progress.advance(task)
    done = sum(len(o.done) for o in outcomes)
    failed = [(o.username, c, m) for o in outcomes for c, m in o.failed]
    out.print(
        f"Applied {done} changes for {len(plans)} user(s) in {time.perf_counter() - started:.1f} s."
    )
    if failed:
        username, component, message = failed[0]
        more = f" (and {len(failed) - 1} more, see the audit log)" if len(failed) > 1 else ""
        raise PlatformError(
            f"{username}: {component} failed: {message}{more}",
            f"fix it and rerun `{command}`: finished steps are not repeated",
        )


def _confirm(yes: bool) -> None:
    if not yes and not typer.confirm("Apply these changes?", err=True):
        raise typer.Exit(1)


@app.command("add")
def add(
    username: Username,
    full_name: Annotated[str, typer.Option("--name", help="Full name.")],
    email: Annotated[str, typer.Option(help="Work e-mail.")],
    team: Annotated[str, typer.Option(help="Team (cost tags, metrics).")] = "unassigned",
    group: Annotated[list[str] | None, typer.Option(help="Extra group (repeatable).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read an initial password from stdin.")
    ] = False,
    dry_run: DryRun = False,
) -> None:
    """Onboard a user, or repair one: directory, groups, home, profile, S3/IAM, hub."""
    spec = _user_spec(username, full_name, email, team, group or [])
    password = _read_password() if password_stdin else None
    manager = _manager()
    plan = manager.plan_onboard(spec)
    print_plans([plan] if not plan.empty else [])
    if dry_run:
        return
    if not plan.empty:
        apply_plans(manager, [plan], f"mlplatform users add {username} ...")
    if password is not None:
        manager.directory.set_password(username, password)
        out.print(f"Initial password set for {username}.")


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise PlatformError("no password on stdin", "pipe it in: ... --password-stdin < file")
    return password


def _user_spec(username: str, full_name: str, email: str, team: str, groups: list[str]) -> UserSpec:
    from pydantic import ValidationError

    try:
        return UserSpec(
            username=username, full_name=full_name, email=email, team=team, groups=tuple(groups)
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        error = first.get("ctx", {}).get("error")
        if isinstance(error, PlatformError):
            raise error from None
        raise PlatformError(
            f"{field}: {first['msg']}", f"fix --{field.replace('_', '-')}"
        ) from None


@app.command("remove")
def remove(username: Username, dry_run: DryRun = False, yes: Yes = False) -> None:
    """Offboard: lock, leave groups, stop the hub server, archive the home, revoke IAM."""
    manager = _manager()
    plan = manager.plan_offboard(username)
    print_plans([plan] if not plan.empty else [])
    if dry_run or plan.empty:
        return
    _confirm(yes)
    apply_plans(manager, [plan], f"mlplatform users remove {username}")


@app.command("disable")
def disable(username: Username, dry_run: DryRun = False) -> None:
    """Lock the account and stop the hub server; `users add` enables it again."""
    manager = _manager()
    plan = manager.plan_offboard(username, "disable")
    print_plans([plan] if not plan.empty else [])
    if not dry_run and not plan.empty:
        apply_plans(manager, [plan], f"mlplatform users disable {username}")


@app.command("sync")
def sync(
    roster: Annotated[Path, typer.Argument(help="roster.yaml: users: [{username, ...}].")],
    dry_run: DryRun = False,
    yes: Yes = False,
) -> None:
    """Reconcile the directory with a roster: add, update groups, offboard leavers."""
    desired = load_roster(roster)
    manager = _manager()
    plans = manager.plan_sync(desired)
    print_plans(plans)
    if dry_run or not plans:
        return
    _confirm(yes)
    apply_plans(manager, plans, f"mlplatform users sync {roster}")


@app.command("list")
def list_users(as_json: AsJson = False) -> None:
    """Users in the directory, with their groups and whether they are locked."""
    manager = _manager()
    users = sorted(manager.directory.list_users(), key=lambda u: u.username)
    if as_json:
        out.print_json(json.dumps([asdict(u) | {"groups": sorted(u.groups)} for u in users]))
        return
    table = Table("user", "name", "team", "uid", "groups", "status")
    for user in users:
        status = "[red]disabled[/]" if user.locked else "active"
        table.add_row(
            user.username,
            user.full_name,
            user.team,
            str(user.uid_number),
            ", ".join(sorted(user.groups)),
            status,
        )
    out.print(table)
    out.print(f"{len(users)} user(s) in {manager.directory.describe()}")


@app.command("show")
def show(username: Username, as_json: AsJson = False) -> None:
    """One user, and anything that has drifted from what onboarding set up."""
    manager = _manager()
    user = manager.existing_user(username)
    spec = UserSpec(
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        team=user.team,
        groups=tuple(sorted(user.groups - set(manager.settings.users.groups))),
    )
    pending: list[str] = []
    if not user.locked:
        drift = manager.plan_onboard(spec)
        pending = [a.describe() for a in drift.actions]
        pending += [f"! {c}: {m}" for c, m in drift.problems]
    if as_json:
        out.print_json(json.dumps(asdict(user) | {"groups": sorted(user.groups), "drift": pending}))
        return
    table = Table(show_header=False, title=username)
    for name, value in asdict(user).items():
        table.add_row(
            name.replace("_", " "), ", ".join(sorted(value)) if name == "groups" else str(value)
        )
    out.print(table)
    if user.locked:
        out.print("Account is disabled.")
    elif pending:
        out.print("Drift (`mlplatform users add` repairs it):")
        for line in pending:
            out.print(f"  {line}", highlight=False)
    else:
        out.print("Everything onboarding sets up is in place.")


@mfa_app.command("enroll")
def mfa_enroll(
    username: Username,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="Print a QR code to scan.")] = True,
) -> None:
    """Create a TOTP secret for a user and show it as an otpauth URI and a QR code."""
    from mlplatform.users.mfa import enroll

    manager = _manager()
    uri = enroll(manager.settings, manager.directory, username)
    err.print(f"TOTP enrolled for {username}. Scan this in an authenticator app:")
    if qr:
        import segno

        segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)
    print(uri)
    from mlplatform.users.audit import AuditLog, audit_path

    AuditLog(audit_path(manager.settings), "mfa-enroll").record(username, "ok")
