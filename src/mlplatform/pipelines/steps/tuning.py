"""Tuning: one candidate's cross-validated score (the foreach task's work)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.model_selection import cross_val_score

from mlplatform.pipelines.spec import LOWER_IS_BETTER, PRIMARY_METRIC, PipelineSpec
from mlplatform.pipelines.steps.modeling import build_pipeline, cv_splitter
from mlplatform.pipelines.steps.search import CandidateScore
from mlplatform.pipelines.steps.splitting import TuningData

# Spec metric -> scikit-learn scorer. `neg_*` scorers are negated losses; the sign is turned
# back below so a candidate's score reads in the metric's own units.
SCORERS = {
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "log_loss": "neg_log_loss",
    "accuracy": "accuracy",
    "f1": "f1",
    "precision": "precision",
    "recall": "recall",
    "brier": "neg_brier_score",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
    "mape": "neg_mean_absolute_percentage_error",
    "median_ae": "neg_median_absolute_error",
    "f1_macro": "f1_macro",
    "f1_weighted": "f1_weighted",
    "precision_macro": "precision_macro",
    "recall_macro": "recall_macro",
}


def score_candidate(
    spec: PipelineSpec, sample: TuningData, params: dict[str, Any], round_number: int = 1
) -> CandidateScore:
    metric = spec.tuning.metric if spec.tuning else PRIMARY_METRIC[spec.task]
    folds = spec.tuning.cv_folds if spec.tuning else 3
    started = time.perf_counter()
    # error_score="raise": a failing fit (or a @timeout) must fail the task, not score NaN.
    scores = cross_val_score(
        build_pipeline(spec, params),
        sample.X,
        sample.y,
        cv=cv_splitter(spec, folds),
        scoring=SCORERS[metric],
        error_score="raise",
        n_jobs=1,
    )
    if metric in LOWER_IS_BETTER:
        scores = -scores
    return CandidateScore(
        params=params,
        score=float(np.mean(scores)),
        std=float(np.std(scores)),
        seconds=time.perf_counter() - started,
        metric=metric,
        round=round_number,
    )
