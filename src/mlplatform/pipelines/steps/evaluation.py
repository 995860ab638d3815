"""Evaluate: holdout metrics, curves, calibration and permutation feature importance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from mlplatform.pipelines.spec import PipelineSpec
from mlplatform.pipelines.steps.splitting import Split

IMPORTANCE_ROWS = 5000


@dataclass
class Evaluation:
    metrics: dict[str, float]
    confusion: list[list[int]]
    roc: dict[str, list[float]]
    pr: dict[str, list[float]]
    calibration: dict[str, list[float]]
    importances: dict[str, float] = field(default_factory=dict)
    holdout_rows: int = 0
    positive_rate: float = 0.0


def compute_metrics(
    names: Sequence[str], y: np.ndarray, proba: np.ndarray, threshold: float
) -> dict[str, float]:
    pred = (proba >= threshold).astype(int)
    functions: dict[str, Any] = {
        "roc_auc": lambda: roc_auc_score(y, proba),
        "pr_auc": lambda: average_precision_score(y, proba),
        "log_loss": lambda: log_loss(y, proba, labels=[0, 1]),
        "accuracy": lambda: accuracy_score(y, pred),
        "f1": lambda: f1_score(y, pred, zero_division=0),
        "precision": lambda: precision_score(y, pred, zero_division=0),
        "recall": lambda: recall_score(y, pred, zero_division=0),
        "brier": lambda: brier_score_loss(y, proba),
    }
    return {name: round(float(functions[name]()), 6) for name in names}


def _thin(values: np.ndarray, points: int = 200) -> list[float]:
    """Curves with thousands of points bloat the card; keep an even subset."""
    if len(values) <= points:
        return [float(v) for v in values]
    idx = np.linspace(0, len(values) - 1, points).astype(int)
    return [float(v) for v in values[idx]]


def evaluate(spec: PipelineSpec, model: Any, data: Split, seed: int = 0) -> Evaluation:
    proba = model.predict_proba(data.X_test)[:, 1]
    y = data.y_test
    threshold = spec.evaluation.threshold
    fpr, tpr, _ = roc_curve(y, proba)
    precision, recall, _ = precision_recall_curve(y, proba)
    frac_pos, mean_pred = calibration_curve(y, proba, n_bins=10, strategy="quantile")
    sample = np.random.default_rng(seed).choice(
        len(y), size=min(IMPORTANCE_ROWS, len(y)), replace=False
    )
    imp = permutation_importance(
        model,
        data.X_test.iloc[sample],
        y[sample],
        scoring="roc_auc",
        n_repeats=3,
        random_state=seed,
        n_jobs=1,
    )
    importances = dict(
        sorted(
            zip(data.X_test.columns, (float(v) for v in imp.importances_mean), strict=True),
            key=lambda kv: -kv[1],
        )
    )
    return Evaluation(
        metrics=compute_metrics(spec.evaluation.metrics, y, proba, threshold),
        confusion=confusion_matrix(y, (proba >= threshold).astype(int), labels=[0, 1]).tolist(),
        roc={"fpr": _thin(fpr), "tpr": _thin(tpr)},
        pr={"precision": _thin(precision), "recall": _thin(recall)},
        calibration={
            "predicted": [float(v) for v in mean_pred],
            "observed": [float(v) for v in frac_pos],
        },
        importances=importances,
        holdout_rows=len(y),
        positive_rate=float(np.mean(y)),
    )
