"""`mlplatform configure import`: the mlplatform and Metaflow profiles from Terraform outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Write this machine's profiles from the deployed platform.", no_args_is_help=True
)


@app.callback()
def configure() -> None:
    """Write this machine's profiles from the deployed platform."""


@app.command("import")
def import_outputs(
    outputs: Annotated[
        Path,
        typer.Argument(
            help="JSON of `terraform output -json` run in deploy/terraform/envs/<env>.",
            show_default=False,
        ),
    ],
    profile: Annotated[
        str | None,
        typer.Option(help="mlplatform profile name; default: the `environment` output."),
    ] = None,
    metaflow_profile: Annotated[
        str | None,
        typer.Option(
            help="Metaflow profile name (config_<name>.json; `default` is config.json); "
            "default: the mlplatform profile's name."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be written; write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing profiles that differ.")
    ] = False,
) -> None:
    """Write $MLPLATFORM_HOME/profiles/<profile>.yaml and $METAFLOW_HOME/config_<name>.json."""
    from mlplatform.configure import plan_import, write_plan

    # Plain echo, not Rich: file text must come out verbatim (`:secret:` in an ARN is no emoji,
    # and a long URL is not wrapped).
    plan = plan_import(outputs, profile, metaflow_profile)
    for planned in plan.files:
        typer.echo(f"{planned.state} {planned.path}")
        if planned.state == "update":
            for line in planned.changes():
                typer.echo(f"  {line}")
    if dry_run:
        for planned in plan.files:
            if planned.state != "unchanged":
                typer.echo(f"\n--- {planned.path} ---")
                typer.echo(planned.text, nl=False)
        refused = any(planned.state == "update" for planned in plan.files) and not force
        note = " (a real run needs --force to replace what differs)" if refused else ""
        typer.echo(f"\ndry run: nothing written{note}")
        return
    written = write_plan(plan, force=force)
    typer.echo(f"wrote {len(written)} file(s), {2 - len(written)} already up to date.")
    selectors = [
        f"{variable}={name}"
        for variable, name in (
            ("MLPLATFORM_PROFILE", plan.profile),
            ("METAFLOW_PROFILE", plan.metaflow_profile),
        )
        if name != "default"
    ]
    if selectors:
        typer.echo(f"use them: export {' '.join(selectors)}")
