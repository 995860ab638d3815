"""`mlplatform stack up|down|status`: the platform on one machine, on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlplatform.cli.console import err, out

app = typer.Typer(
    help="The whole platform on this machine, on loopback: up, down, status.",
    no_args_is_help=True,
)

Dir = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="State folder (data, logs, state.json); default $MLPLATFORM_HOME/stack."
    ),
]


def _folder(folder: Path | None) -> Path:
    from mlplatform.stack.stack import default_folder

    return (folder or default_folder()).expanduser().resolve()


@app.callback()
def stack() -> None:
    """The whole platform on this machine, on loopback: up, down, status."""


@app.command("up")
def up(
    folder: Dir = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds each service may take to become ready.")
    ] = 90.0,
    hub: Annotated[bool, typer.Option("--hub/--no-hub", help="Start JupyterHub too.")] = True,
) -> None:
    """Start PostgreSQL (TLS), S3 (moto), OpenLDAP (ldaps) and JupyterHub; write the profiles."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from mlplatform.stack import stack

    where = _folder(folder)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("starting the stack", total=None)

        def on_step(name: str) -> None:
            progress.update(task, description=f"starting: {name}")

        result = stack.up(where, timeout=timeout, hub=hub, on_step=on_step)
    if result.already_up:
        out.print(f"the stack is already up ({where}); `mlplatform stack status` shows it")
        _print_status(where)
        return
    if result.cleaned_stale:
        err.print("a stale state.json (stopped services) was cleaned up first")
    out.print(f"stack up in {result.seconds:.1f} s ({where})")
    _print_status(where)
    out.print(f"mlplatform profile: {result.profile}")
    out.print(f"Metaflow profile:   {result.metaflow_profile}")
    if result.demo_password:
        out.print(
            f"demo login: user demo, password {result.demo_password} "
            "(shown once: it is not stored)",
            highlight=False,
        )
    else:
        out.print("demo login: user demo (password shown by the first `up`)")
    out.print("use the stack from a shell:", highlight=False)
    out.print(result.exports, highlight=False, soft_wrap=True)
    out.print(f"set -a; . {where / 'secrets.env'}; set +a", highlight=False, soft_wrap=True)


@app.command("down")
def down(
    folder: Dir = None,
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete the data, certificates and profiles.")
    ] = False,
) -> None:
    """Stop everything `up` started (by PID); keep the data unless --purge."""
    from mlplatform.stack import stack

    where = _folder(folder)
    stopped = stack.down(where, purge=purge)
    if stopped:
        out.print(f"stopped: {', '.join(stopped)}")
    else:
        out.print("nothing was running")
    out.print(f"data deleted: {where}" if purge else f"data kept in {where} (--purge deletes it)")


@app.command("status")
def status(folder: Dir = None) -> None:
    """Each service: PID, port, up/down, URL."""
    where = _folder(folder)
    _print_status(where)


def _print_status(where: Path) -> None:
    from mlplatform.stack import stack

    table = Table(title=f"stack in {where}")
    for column in ("service", "pid", "port", "state"):
        table.add_column(column, no_wrap=True)
    table.add_column("url", overflow="fold")
    colours = {"up": "green", "down": "red"}
    for row in stack.status(where):
        colour = colours.get(row.state, "yellow")
        table.add_row(
            row.service,
            str(row.pid or "-"),
            str(row.port or "-"),
            f"[{colour}]{row.state}[/]",
            row.url or "-",
        )
    out.print(table)
