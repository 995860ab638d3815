"""Tuning: one candidate's cross-validated score (the foreach task's work)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.model_selection import cross_val_score

from mlplatform.pipelines.spec import LOWER_IS_BETTER, PipelineSpec
from mlplatform.pipelines.steps.modeling import build_pipeline, cv_splitter
from mlplatform.pipelines.steps.search import CandidateScore
from mlplatform.pipelines.steps.splitting import TuningData

SCORERS = {
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "log_loss": "neg_log_loss",
    "accuracy": "accuracy",
    "f1": "f1",
    "precision": "precision",
    "recall": "recall",
    "brier": "neg_brier_score",
}


def score_candidate(
    spec: PipelineSpec, sample: TuningData, params: dict[str, Any]
) -> CandidateScore:
    metric = spec.tuning.metric if spec.tuning else "roc_auc"
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
    )
