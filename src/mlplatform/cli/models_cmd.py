"""`mlplatform models list|show|promote|rollback|compare`: the model registry for people.

Refs name a model as `Flow/run_id`, a bare run id, or `<pipeline_id>@champion`. The actions
are recorded on the runs under the Metaflow user name, so `models show` tells who did what.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from mlplatform import registry
from mlplatform.cli.console import out
from mlplatform.registry.comparison import flatten

app = typer.Typer(
    help="Model registry: lineage, champion/challenger, promotion and rollback.",
    no_args_is_help=True,
)

Flows = Annotated[
    list[str] | None,
    typer.Option("--flow", help="Flow to search (repeatable); default: the training templates."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Ref = Annotated[str, typer.Argument(help="Flow/run_id, run id, or <pipeline>@champion.")]


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def _role(version: registry.ModelVersion) -> str:
    if version.is_champion:
        return "[bold green]champion[/]"
    return "[red]gate failed[/]" if version.gate_passed is False else "challenger"


@app.command("list")
def list_models(
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline (project.name).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N models.")] = 50,
    as_json: AsJson = False,
    flow: Flows = None,
) -> None:
    """List registered models, newest first, with the champion of each pipeline marked."""
    versions = registry.list_models(pipeline, flow, limit)
    if as_json:
        _print_json([asdict(v) for v in versions])
        return
    if not versions:
        out.print("no registered models yet: train one with `mlplatform run <spec.yaml>`")
        return
    table = Table(
        Column("version", no_wrap=True),  # a ref is useless once cut
        Column("pipeline", min_width=12, overflow="fold"),
        Column("role", no_wrap=True),
        # Pipelines measure different things: each row shows its own metrics, not a column
        # per metric of every task.
        Column("holdout metrics", overflow="fold"),
        "user",
        Column("registered (UTC)", no_wrap=True),
    )
    for v in versions:
        table.add_row(
            v.pathspec,
            v.pipeline_id or "-",
            _role(v),
            "  ".join(f"{name} {_fmt(value)}" for name, value in v.metrics.items()) or "-",
            v.user or "-",
            f"{v.created_at:%Y-%m-%d %H:%M:%S}" if v.created_at else "-",
        )
    out.print(table)


@app.command("show")
def show(ref: Ref, as_json: AsJson = False, flow: Flows = None) -> None:
    """Show one model: its lineage (spec, data, code, params, metrics) and its history."""
    v = registry.get_model(ref, flow)
    if as_json:
        _print_json(asdict(v))
        return
    table = Table(title=f"{v.pipeline_id or ''} {v.pathspec}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    gate = f"{v.gate}: {'passed' if v.gate_passed else 'failed'}" if v.gate else "none"
    rows: list[tuple[str, Any]] = [
        ("version", v.pathspec),
        ("role", _role(v)),
        ("registered", v.created_at and f"{v.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("trained by", v.user),
        ("estimator", v.estimator),
        ("params", json.dumps(v.params, default=str)),
        *((f"holdout {name}", value) for name, value in v.metrics.items()),
        ("gate", gate),
        ("data fingerprint", v.data_fingerprint),
        *((f"rows {name}", value) for name, value in flatten(v.rows).items()),
        *((f"code {name}", value) for name, value in v.code_version.items()),
        ("model", v.model_path),
    ]
    for name, value in rows:
        table.add_row(name, _fmt(value))
    out.print(table)
    history = Table("when (UTC)", "action", "user", Column("detail", overflow="fold"))
    for event in v.events:
        history.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.action, event.user, event.detail)
    out.print(history if v.events else "no recorded history (registered before events existed)")


def _confirm(question: str, yes: bool) -> None:
    if not yes:
        typer.confirm(question, abort=True)


def _print_decision(decision: registry.Decision) -> None:
    out.print(decision.reason, highlight=False, soft_wrap=True)
    out.print(f"previous_champion: {decision.previous_champion or '-'}", highlight=False)


@app.command("promote")
def promote(
    ref: Ref,
    reason: Annotated[str | None, typer.Option(help="Why: recorded in the history.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even a gate-failed or unregistered run.")
    ] = False,
    yes: Yes = False,
    flow: Flows = None,
) -> None:
    """Make a model the champion of its pipeline, whatever the margin (recorded, reversible)."""
    from mlplatform.pipelines.launcher import metaflow_user

    if not yes and not force:  # name what changes before asking; unknown refs fail here
        target = registry.get_model(ref, flow)
        current = registry.champion(target.pipeline_id or "", flow)
        now = current.pathspec if current else "none"
        _confirm(f"Make {target.pathspec} champion of {target.pipeline_id} (now: {now})?", yes)
    else:
        _confirm(f"Make {ref} champion of its pipeline?", yes)
    _print_decision(registry.promote(ref, metaflow_user(), reason, flow, force=force))


@app.command("rollback")
def rollback(
    pipeline: Annotated[str, typer.Argument(help="Pipeline id (project.name).")],
    yes: Yes = False,
    flow: Flows = None,
) -> None:
    """Give the champion back to the previous one; a second rollback undoes the first."""
    from mlplatform.pipelines.launcher import metaflow_user

    current = None if yes else registry.champion(pipeline, flow)
    if current is not None:
        _confirm(f"Roll back the champion of {pipeline} (now: {current.pathspec})?", yes)
    _print_decision(registry.rollback(pipeline, metaflow_user(), flow))


@app.command("compare")
def compare(ref_a: Ref, ref_b: Ref, as_json: AsJson = False, flow: Flows = None) -> None:
    """Compare two models: metric deltas (b - a), changed params and spec, data, row counts."""
    result = registry.compare(ref_a, ref_b, flow)
    if as_json:
        _print_json(asdict(result))
        return
    metrics = Table("metric", result.a, result.b, "delta (b - a)", title="metrics")
    for name, m in result.metrics.items():
        delta = m["delta"]
        metrics.add_row(name, _fmt(m["a"]), _fmt(m["b"]), "-" if delta is None else f"{delta:+.4f}")
    out.print(metrics)
    same = "same data" if result.same_data else "different data"
    changes = Table("what", result.a, result.b, title=f"differences ({same})")
    fingerprints = result.data_fingerprints
    changes.add_row("data fingerprint", _fmt(fingerprints["a"]), _fmt(fingerprints["b"]))
    for section, pairs in (
        ("rows", result.rows),
        ("param", result.params),
        ("spec", result.spec),
        ("code", result.code_version),
    ):
        for name, pair in pairs.items():
            changes.add_row(f"{section} {name}", _fmt(pair["a"]), _fmt(pair["b"]))
    out.print(changes)
