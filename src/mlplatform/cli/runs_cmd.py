"""`mlplatform runs list|show`: results read back through the Metaflow client."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Column, Table

from mlplatform.cli.console import out
from mlplatform.cli.render import print_run
from mlplatform.pipelines import results

app = typer.Typer(help="Inspect pipeline runs.", no_args_is_help=True)


@app.command("list")
def list_runs(
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline (project.name).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N runs.")] = 20,
) -> None:
    """List recent runs of the platform's templates, newest first."""
    runs = results.list_runs(pipeline, limit)
    table = Table(
        Column("run", no_wrap=True),  # an id is useless once cut
        Column("pipeline", overflow="fold"),
        "status",
        "user",
        "started",
        "finished",
    )
    for info in runs:
        table.add_row(
            info.pathspec,
            info.pipeline_id or "-",
            info.status,
            info.user or "-",
            f"{info.created_at:%Y-%m-%d %H:%M:%S}" if info.created_at else "-",
            f"{info.finished_at:%Y-%m-%d %H:%M:%S}" if info.finished_at else "-",
        )
    out.print(table if runs else "no runs yet: start one with `mlplatform run <spec.yaml>`")


@app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="Run id or Flow/run_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Show one run: data counts, best parameters, holdout metrics, model and card."""
    info = results.show_run(run)
    if as_json:
        out.print_json(json.dumps(asdict(info), default=str))
        return
    card = results.export_card(info.pathspec) if info.status == "completed" else None
    print_run(info, card_path=card)
    if info.status == "failed":
        failure = results.failing_step(info.pathspec)
        if failure:
            out.print(f"failed step: {failure[0]}: {failure[1]}", highlight=False)
