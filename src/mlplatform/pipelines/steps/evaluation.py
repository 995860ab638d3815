"""Evaluate: holdout metrics and what the card plots, per task.

Classification: curves, calibration, confusion matrix. Regression: residuals and predicted
versus actual. NLP: per-class precision/recall and the multi-class confusion matrix. All three
record permutation importance where there is more than one feature to compare.
"""

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
    mean_absolute_error,
    mean_absolute_percentage_error,
    median_absolute_error,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
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


@dataclass
class RegressionEvaluation:
    metrics: dict[str, float]
    predicted: list[float]  # a sample of holdout rows, for the plots
    actual: list[float]
    importances: dict[str, float] = field(default_factory=dict)
    holdout_rows: int = 0
    target_mean: float = 0.0


@dataclass
class MulticlassEvaluation:
    metrics: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    importances: dict[str, float] = field(default_factory=dict)
    holdout_rows: int = 0


AnyEvaluation = Evaluation | RegressionEvaluation | MulticlassEvaluation
PLOT_POINTS = 2000
# Permutation importance scores with the task's main metric.
_IMPORTANCE_SCORING = {"classification": "roc_auc", "regression": "r2", "nlp": "f1_macro"}


def regression_metrics(names: Sequence[str], y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    functions: dict[str, Any] = {
        "rmse": lambda: root_mean_squared_error(y, pred),
        "mae": lambda: mean_absolute_error(y, pred),
        "r2": lambda: r2_score(y, pred),
        "mape": lambda: mean_absolute_percentage_error(y, pred),
        "median_ae": lambda: median_absolute_error(y, pred),
    }
    return {name: round(float(functions[name]()), 6) for name in names}


def multiclass_metrics(
    names: Sequence[str], y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, labels: list
) -> dict[str, float]:
    functions: dict[str, Any] = {
        "accuracy": lambda: accuracy_score(y, pred),
        "f1_macro": lambda: f1_score(y, pred, average="macro", zero_division=0),
        "f1_weighted": lambda: f1_score(y, pred, average="weighted", zero_division=0),
        "precision_macro": lambda: precision_score(y, pred, average="macro", zero_division=0),
        "recall_macro": lambda: recall_score(y, pred, average="macro", zero_division=0),
        "log_loss": lambda: log_loss(y, proba, labels=labels),
    }
    if proba is None and "log_loss" in names:
        raise ValueError("log_loss needs an estimator with predict_proba")
    return {name: round(float(functions[name]()), 6) for name in names}


def evaluate(spec: PipelineSpec, model: Any, data: Split, seed: int = 0) -> AnyEvaluation:
    if spec.task == "regression":
        return evaluate_regression(spec, model, data, seed)
    if spec.task == "nlp":
        return evaluate_multiclass(spec, model, data, seed)
    return evaluate_binary(spec, model, data, seed)


def importances(spec: PipelineSpec, model: Any, data: Split, seed: int) -> dict[str, float]:
    """Permutation importance on a holdout sample; nothing to compare with one feature."""
    if len(data.X_test.columns) < 2:
        return {}
    y = data.y_test
    sample = np.random.default_rng(seed).choice(
        len(y), size=min(IMPORTANCE_ROWS, len(y)), replace=False
    )
    imp = permutation_importance(
        model,
        data.X_test.iloc[sample],
        y[sample],
        scoring=_IMPORTANCE_SCORING[spec.task],
        n_repeats=3,
        random_state=seed,
        n_jobs=1,
    )
    return dict(
        sorted(
            zip(data.X_test.columns, (float(v) for v in imp.importances_mean), strict=True),
            key=lambda kv: -kv[1],
        )
    )


def evaluate_regression(
    spec: PipelineSpec, model: Any, data: Split, seed: int
) -> RegressionEvaluation:
    pred = np.asarray(model.predict(data.X_test), dtype=float)
    y = np.asarray(data.y_test, dtype=float)
    sample = np.random.default_rng(seed).choice(
        len(y), size=min(PLOT_POINTS, len(y)), replace=False
    )
    return RegressionEvaluation(
        metrics=regression_metrics(spec.evaluation.metrics, y, pred),
        predicted=[float(v) for v in pred[sample]],
        actual=[float(v) for v in y[sample]],
        importances=importances(spec, model, data, seed),
        holdout_rows=len(y),
        target_mean=float(np.mean(y)),
    )


def evaluate_multiclass(
    spec: PipelineSpec, model: Any, data: Split, seed: int
) -> MulticlassEvaluation:
    y = data.y_test
    pred = model.predict(data.X_test)
    proba = model.predict_proba(data.X_test) if hasattr(model, "predict_proba") else None
    labels = list(data.classes)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": round(float(p), 6),
            "recall": round(float(r), 6),
            "f1": round(float(f), 6),
            "support": int(n),
        }
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }
    return MulticlassEvaluation(
        metrics=multiclass_metrics(spec.evaluation.metrics, y, pred, proba, labels),
        labels=labels,
        confusion=confusion_matrix(y, pred, labels=labels).tolist(),
        per_class=per_class,
        importances=importances(spec, model, data, seed),
        holdout_rows=len(y),
    )


def evaluate_binary(spec: PipelineSpec, model: Any, data: Split, seed: int) -> Evaluation:
    proba = model.predict_proba(data.X_test)[:, 1]
    y = data.y_test
    threshold = spec.evaluation.threshold
    fpr, tpr, _ = roc_curve(y, proba)
    precision, recall, _ = precision_recall_curve(y, proba)
    frac_pos, mean_pred = calibration_curve(y, proba, n_bins=10, strategy="quantile")
    return Evaluation(
        metrics=compute_metrics(spec.evaluation.metrics, y, proba, threshold),
        confusion=confusion_matrix(y, (proba >= threshold).astype(int), labels=[0, 1]).tolist(),
        roc={"fpr": _thin(fpr), "tpr": _thin(tpr)},
        pr={"precision": _thin(precision), "recall": _thin(recall)},
        calibration={
            "predicted": [float(v) for v in mean_pred],
            "observed": [float(v) for v in frac_pos],
        },
        importances=importances(spec, model, data, seed),
        holdout_rows=len(y),
        positive_rate=float(np.mean(y)),
    )
