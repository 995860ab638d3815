"""Card content: plots and tables for the evaluate step, as Metaflow card components.

Plots are drawn with matplotlib here and handed to `metaflow.cards.Image`, so the card is one
self-contained HTML file that opens anywhere, offline.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on Batch or CI
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from mlplatform.pipelines.steps.evaluation import Evaluation
from mlplatform.pipelines.steps.search import CandidateScore


def _figure() -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=(4.6, 3.6), dpi=100)
    return fig, ax


def roc_figure(ev: Evaluation) -> Figure:
    fig, ax = _figure()
    ax.plot(
        ev.roc["fpr"], ev.roc["tpr"], label=f"ROC AUC {ev.metrics.get('roc_auc', float('nan')):.3f}"
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def pr_figure(ev: Evaluation) -> Figure:
    fig, ax = _figure()
    ax.plot(ev.pr["recall"], ev.pr["precision"])
    ax.axhline(ev.positive_rate, linestyle="--", color="grey", linewidth=1, label="base rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall curve")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def calibration_figure(ev: Evaluation) -> Figure:
    fig, ax = _figure()
    ax.plot(ev.calibration["predicted"], ev.calibration["observed"], marker="o")
    top = max([*ev.calibration["predicted"], *ev.calibration["observed"], 0.01])
    ax.plot([0, top], [0, top], linestyle="--", color="grey", linewidth=1)
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed positive rate",
        title="Calibration (deciles)",
    )
    fig.tight_layout()
    return fig


def confusion_figure(ev: Evaluation, threshold: float) -> Figure:
    fig, ax = _figure()
    ax.imshow(ev.confusion, cmap="Blues")
    darkest = max(max(row) for row in ev.confusion)
    for i, row in enumerate(ev.confusion):
        for j, value in enumerate(row):
            colour = "white" if value > darkest / 2 else "black"  # readable on dark cells
            ax.text(j, i, f"{value:,}", ha="center", va="center", color=colour)
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xlabel="predicted",
        ylabel="actual",
        title=f"Confusion matrix (threshold {threshold:g})",
    )
    fig.tight_layout()
    return fig


def importance_figure(ev: Evaluation, top: int = 15) -> Figure:
    items = list(ev.importances.items())[:top][::-1]
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(items) + 1.2), dpi=100)
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(xlabel="drop in ROC AUC when shuffled", title="Permutation importance (holdout)")
    fig.tight_layout()
    return fig


def tuning_figure(scores: list[CandidateScore]) -> Figure:
    fig, ax = _figure()
    ordered = sorted(scores, key=lambda s: s.score)
    ax.errorbar(
        range(len(ordered)), [s.score for s in ordered], yerr=[s.std for s in ordered], fmt="o"
    )
    ax.set(xlabel="candidate (sorted)", ylabel=f"CV {scores[0].metric}", title="Tuning")
    fig.tight_layout()
    return fig


def evaluation_components(
    pipeline_id: str,
    ev: Evaluation,
    scores: list[CandidateScore],
    best: CandidateScore,
    threshold: float,
    validation_report: dict[str, Any],
) -> list[Any]:
    from metaflow.cards import Image, Markdown, Table

    components: list[Any] = [
        Markdown(f"# {pipeline_id}: evaluation on {ev.holdout_rows:,} holdout rows"),
        Table([[k, f"{v:.4f}"] for k, v in ev.metrics.items()], headers=["metric", "value"]),
        Markdown("## Data"),
        Table(
            [
                [t, f"{c['rows_in']:,}", f"{c['rows_valid']:,}", f"{c['rows_quarantined']:,}"]
                for t, c in validation_report["tables"].items()
            ],
            headers=["table", "rows in", "valid", "quarantined"],
        ),
    ]
    reasons = validation_report.get("reasons", {})
    if reasons:
        components.append(Markdown(f"Quarantine: `{validation_report.get('quarantine_path', '')}`"))
        components.append(
            Table(
                [[r, f"{n:,}"] for r, n in list(reasons.items())[:15]], headers=["reason", "rows"]
            )
        )
    components.append(Markdown("## Curves"))
    for fig in (
        roc_figure(ev),
        pr_figure(ev),
        calibration_figure(ev),
        confusion_figure(ev, threshold),
        importance_figure(ev),
        tuning_figure(scores),
    ):
        components.append(Image.from_matplotlib(fig))
        plt.close(fig)
    components.append(Markdown("## Best hyperparameters"))
    components.append(
        Table([[k, str(v)] for k, v in best.params.items()], headers=["parameter", "value"])
    )
    return components
