"""Card content: plots and tables for the evaluate step, as Metaflow card components.

Plots are drawn with matplotlib here and handed to `metaflow.cards.Image`, so the card is one
self-contained HTML file that opens anywhere, offline.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on Batch or CI
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mlplatform.pipelines.steps.evaluation import (
    AnyEvaluation,
    Evaluation,
    MulticlassEvaluation,
    RegressionEvaluation,
)
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


def confusion_figure(confusion: list[list[int]], labels: list[str], title: str) -> Figure:
    size = max(4.6, 0.7 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.8), dpi=100)
    ax.imshow(confusion, cmap="Blues")
    darkest = max(max(row) for row in confusion) or 1
    for i, row in enumerate(confusion):
        for j, value in enumerate(row):
            colour = "white" if value > darkest / 2 else "black"  # readable on dark cells
            ax.text(j, i, f"{value:,}", ha="center", va="center", color=colour)
    ticks = list(range(len(labels)))
    ax.set_xticks(ticks, labels, rotation=30 if len(labels) > 2 else 0, ha="right")
    ax.set_yticks(ticks, labels)
    ax.set(xlabel="predicted", ylabel="actual", title=title)
    fig.tight_layout()
    return fig


def predicted_actual_figure(ev: RegressionEvaluation) -> Figure:
    fig, ax = _figure()
    ax.scatter(ev.actual, ev.predicted, s=6, alpha=0.4)
    low = min([*ev.actual, *ev.predicted, 0.0])
    high = max([*ev.actual, *ev.predicted, 1e-9])
    ax.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (holdout sample)")
    fig.tight_layout()
    return fig


def residual_figure(ev: RegressionEvaluation) -> Figure:
    fig, ax = _figure()
    residuals = [a - p for a, p in zip(ev.actual, ev.predicted, strict=True)]
    ax.scatter(ev.predicted, residuals, s=6, alpha=0.4)
    ax.axhline(0, linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals (holdout sample)")
    fig.tight_layout()
    return fig


def per_class_figure(ev: MulticlassEvaluation) -> Figure:
    fig, ax = plt.subplots(figsize=(max(4.6, 0.9 * len(ev.labels) + 1.5), 3.6), dpi=100)
    positions = np.arange(len(ev.labels))
    width = 0.38
    ax.bar(
        positions - width / 2,
        [ev.per_class[c]["precision"] for c in ev.labels],
        width,
        label="precision",
    )
    ax.bar(
        positions + width / 2, [ev.per_class[c]["recall"] for c in ev.labels], width, label="recall"
    )
    ax.set_xticks(positions, ev.labels, rotation=30 if len(ev.labels) > 3 else 0, ha="right")
    ax.set(ylim=(0, 1.05), title="Precision and recall per class")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


_IMPORTANCE_UNITS = {
    "Evaluation": "ROC AUC",
    "RegressionEvaluation": "R²",
    "MulticlassEvaluation": "macro F1",
}


def importance_figure(ev: AnyEvaluation, top: int = 15) -> Figure:
    items = list(ev.importances.items())[:top][::-1]
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(items) + 1.2), dpi=100)
    ax.barh([k for k, _ in items], [v for _, v in items])
    units = _IMPORTANCE_UNITS[type(ev).__name__]
    ax.set(xlabel=f"drop in {units} when shuffled", title="Permutation importance (holdout)")
    fig.tight_layout()
    return fig


def tuning_figure(scores: list[CandidateScore], best: CandidateScore) -> Figure:
    """Score per candidate in the order they ran, one colour per round, the best one ringed."""
    fig, ax = _figure()
    for number in sorted({s.round for s in scores}):
        ran = [(i, s) for i, s in enumerate(scores) if s.round == number]
        ax.errorbar(
            [i for i, _ in ran],
            [s.score for _, s in ran],
            yerr=[s.std for _, s in ran],
            fmt="o",
            label=f"round {number}",
        )
    chosen = scores.index(best)
    ax.scatter([chosen], [best.score], s=180, facecolors="none", edgecolors="black", label="best")
    ax.set(xlabel="candidate", ylabel=f"CV {scores[0].metric}", title="Tuning: score per candidate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def figures_for(ev: AnyEvaluation, threshold: float) -> list[Figure]:
    if isinstance(ev, RegressionEvaluation):
        figures = [predicted_actual_figure(ev), residual_figure(ev)]
    elif isinstance(ev, MulticlassEvaluation):
        figures = [
            per_class_figure(ev),
            confusion_figure(ev.confusion, ev.labels, "Confusion matrix"),
        ]
    else:
        figures = [
            roc_figure(ev),
            pr_figure(ev),
            calibration_figure(ev),
            confusion_figure(
                ev.confusion, ["0", "1"], f"Confusion matrix (threshold {threshold:g})"
            ),
        ]
    if ev.importances:
        figures.append(importance_figure(ev))
    return figures


def evaluation_components(
    pipeline_id: str,
    ev: AnyEvaluation,
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
    if isinstance(ev, MulticlassEvaluation):
        components.append(Markdown("## Per class"))
        components.append(
            Table(
                [
                    [
                        c,
                        f"{m['precision']:.3f}",
                        f"{m['recall']:.3f}",
                        f"{m['f1']:.3f}",
                        f"{int(m['support']):,}",
                    ]
                    for c, m in ev.per_class.items()
                ],
                headers=["class", "precision", "recall", "F1", "rows"],
            )
        )
    components.append(Markdown("## Plots"))
    for fig in [*figures_for(ev, threshold), tuning_figure(scores, best)]:
        components.append(Image.from_matplotlib(fig))
        plt.close(fig)
    components.append(Markdown("## Best hyperparameters"))
    components.append(
        Table([[k, str(v)] for k, v in best.params.items()], headers=["parameter", "value"])
    )
    return components


def prediction_figure(distribution: dict[str, Any]) -> Figure:
    fig, ax = _figure()
    if distribution["kind"] == "numeric":
        ax.hist(distribution["values"], bins=40)
        ax.set(xlabel="prediction", ylabel="rows (sample)", title="Predictions")
    else:
        counts = distribution["counts"]
        ax.bar(list(counts), list(counts.values()))
        ax.set(xlabel="predicted class", ylabel="rows", title="Predictions per class")
    fig.tight_layout()
    return fig


def scoring_components(summary: dict[str, Any], distribution: dict[str, Any]) -> list[Any]:
    from metaflow.cards import Image, Markdown, Table

    report = summary["validation"]
    components: list[Any] = [
        Markdown(f"# {summary['pipeline_id']}: batch scoring"),
        Table(
            [
                ["model version", summary["model_version"]],
                ["rows in", f"{report['rows_in']:,}"],
                ["rows scored", f"{summary['rows_scored']:,}"],
                ["rows rejected", f"{summary['rows_rejected']:,}"],
                ["predictions", summary["predictions"]],
                ["quarantine", summary["quarantine_path"]],
            ],
            headers=["", ""],
        ),
    ]
    reasons = report.get("reasons", {})
    if reasons:
        components.append(
            Table(
                [[r, f"{n:,}"] for r, n in list(reasons.items())[:15]], headers=["reason", "rows"]
            )
        )
    fig = prediction_figure(distribution)
    components.append(Image.from_matplotlib(fig))
    plt.close(fig)
    return components
