"""`mlplatform spec check|reference`."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplatform.cli.console import out
from mlplatform.pipelines.launcher import prepare
from mlplatform.pipelines.spec_reference import spec_reference_markdown

app = typer.Typer(help="Check specs; print the spec reference.", no_args_is_help=True)


@app.command("check")
def check(
    spec: Annotated[str, typer.Argument(help="Pipeline spec YAML.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key.path=value")] = None,
) -> None:
    """Validate a spec and its data source without running anything."""
    pipeline = prepare(spec, param or [])
    out.print(f"ok: {pipeline.pipeline_id} ({pipeline.task}), source {pipeline.data.source.kind}")


@app.command("reference")
def reference() -> None:
    """Print every spec field with its type, default and description (Markdown)."""
    print(spec_reference_markdown(), end="")
