"""Printing runs: a Rich table for people, `name: value` lines for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from mlplatform.cli.console import out
from mlplatform.pipelines.results import RunInfo


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_run(
    info: RunInfo,
    card_path: str | None = None,
    log_path: str | None = None,
    seconds: float | None = None,
) -> None:
    table = Table(title=f"{info.pipeline_id or ''} {info.pathspec}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")  # paths wrap rather than lose their ends
    table.add_row("run", info.pathspec)
    table.add_row("status", info.status)
    lines: dict[str, Any] = {"run": info.pathspec, "status": info.status}
    summary = info.summary or {}
    if summary:
        validation = summary["validation"]
        for name, counts in validation["tables"].items():
            table.add_row(
                f"{name} in / valid / quarantined",
                " / ".join(f"{counts[k]:,}" for k in ("rows_in", "rows_valid", "rows_quarantined")),
            )
        lines |= {
            "rows_in": validation["rows_in"],
            "rows_valid": validation["rows_valid"],
            "rows_quarantined": validation["rows_quarantined"],
        }
        if "rows_scored" in summary:
            _scoring_rows(table, lines, summary)
        else:
            _training_rows(table, lines, summary)
    if card_path:
        table.add_row("card", card_path)
        lines["card_path"] = card_path
    if log_path:
        table.add_row("log", log_path)
    if seconds is not None:
        table.add_row("wall time", f"{seconds:.0f} s")
    out.print(table)
    for name, value in lines.items():
        if isinstance(value, float):
            value = round(value, 4)
        out.print(f"{name}: {value}", highlight=False, soft_wrap=True)


def _training_rows(table: Table, lines: dict[str, Any], summary: dict[str, Any]) -> None:
    table.add_row("training examples", f"{summary['validation']['examples']:,}")
    table.add_row("best hyperparameters", json.dumps(summary["best_params"]))
    for metric, value in summary["metrics"].items():
        table.add_row(f"holdout {metric}", _fmt(value))
    gate = summary.get("gate")
    if gate:
        table.add_row("gate", f"{gate}: {'passed' if summary['gate_passed'] else 'failed'}")
    if "registry" in summary:
        table.add_row("registry", summary["registry"])
    table.add_row("model", summary["model_path"])
    table.add_row("quarantine", summary["quarantine_path"])
    lines |= {
        **summary["metrics"],
        "gate_passed": summary.get("gate_passed"),
        "champion": summary.get("champion"),
        "model_path": summary["model_path"],
    }


def _scoring_rows(table: Table, lines: dict[str, Any], summary: dict[str, Any]) -> None:
    table.add_row("model version", summary["model_version"])
    table.add_row("rows scored", f"{summary['rows_scored']:,}")
    table.add_row("rows rejected", f"{summary['rows_rejected']:,}")
    table.add_row("predictions", summary["predictions"])
    table.add_row("quarantine", summary["quarantine_path"])
    lines |= {
        "model_version": summary["model_version"],
        "rows_scored": summary["rows_scored"],
        "rows_rejected": summary["rows_rejected"],
        "predictions": summary["predictions"],
    }
