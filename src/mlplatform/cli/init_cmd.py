"""`mlplatform init`: scaffold a pipeline project from a template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from mlplatform.cli.console import out

Template = Literal["classification", "regression", "nlp", "scoring"]


def init(
    directory: Annotated[Path, typer.Argument(help="New project directory.")],
    template: Annotated[
        Template, typer.Option("--template", "-t", help="Which template the project starts from.")
    ] = "classification",
    project: Annotated[
        str | None, typer.Option(help="Project name (Metaflow @project); default: team.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Pipeline name; default: from the directory name.")
    ] = None,
) -> None:
    """Create a pipeline project (spec, README, data hook) that runs straight away."""
    from mlplatform.scaffold import init_project

    made = init_project(directory, template, project, name)
    out.print(f"created {made.project}.{made.name} ({template}) in {made.directory}:")
    for path in made.files:
        out.print(f"  {path}", highlight=False)
    out.print(f"next: cd {made.directory} && mlplatform run pipeline.yaml", highlight=False)
