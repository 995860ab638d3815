"""`mlplatform run`: check a spec and its data, run its template, print the results."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from mlplatform.cli.console import err
from mlplatform.cli.render import print_run
from mlplatform.pipelines import launcher, results
from mlplatform.pipelines.spec import AnySpec
from mlplatform.settings import get_settings


def run(
    spec: Annotated[str, typer.Argument(help="Pipeline spec YAML.")],
    max_workers: Annotated[
        int | None, typer.Option("--max-workers", min=1, help="Parallel tasks (default: cores).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Override a spec value: key.path=value (repeatable)."),
    ] = None,
    on: Annotated[
        launcher.Target, typer.Option("--on", help="Where tasks run: local, batch or kubernetes.")
    ] = "local",
) -> None:
    """Run a pipeline spec with its template (checks the spec and data first)."""
    with err.status("checking spec and data source"):
        pipeline = launcher.prepare(spec, param or [])
        launcher.check_target(on)
        training = launcher.training_needed(pipeline)
    err.print(f"[green]spec ok[/]: {pipeline.pipeline_id} ({pipeline.task}) on {on}")
    workers = max_workers or get_settings().runs.max_workers
    if training is not None:
        err.print(
            f"no champion for {training.pipeline_id} yet: training it first "
            f"({training.task} template)"
        )
        first = _launch(training, on, workers)
        err.print(f"trained {first.pathspec}")
    outcome = _launch(pipeline, on, workers)
    card = results.export_card(outcome.pathspec)
    info = results.show_run(outcome.pathspec)
    print_run(info, card_path=card, log_path=str(outcome.log_path), seconds=outcome.seconds)


def _launch(pipeline: AnySpec, on: launcher.Target, workers: int) -> launcher.LaunchResult:
    """Run one spec with a progress bar of its Metaflow tasks."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} tasks"),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task(f"{pipeline.pipeline_id}: starting Metaflow", total=None)

        def show(progress: launcher.Progress) -> None:
            running = ", ".join(sorted({k.split("/")[0] for k in progress.running})) or "…"
            label = f"run {progress.run_id}: {running}" if progress.run_id else "starting Metaflow"
            bar.update(task, total=progress.total, completed=progress.done, description=label)

        return launcher.launch(pipeline, on=on, max_workers=workers, on_progress=show)
