"""Tuning: candidate parameter sets (grid or random) and their cross-validated scores."""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import cross_val_score

from mlplatform.pipelines.spec import LOWER_IS_BETTER, PipelineSpec, RangeSpec
from mlplatform.pipelines.steps.modeling import Split, build_pipeline, cv_splitter

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


@dataclass
class CandidateScore:
    params: dict[str, Any]
    score: float  # in the metric's own units (log loss positive)
    std: float
    seconds: float
    metric: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def candidates(spec: PipelineSpec) -> list[dict[str, Any]]:
    """Parameter sets to score: model.params overlaid with each point of the search space."""
    base = dict(spec.model.params)
    tuning = spec.tuning
    if tuning is None:
        return [base]
    rng = np.random.default_rng(spec.split.seed)
    if tuning.strategy == "grid":
        names = list(tuning.space)
        grid = [
            dict(zip(names, values, strict=True))
            for values in itertools.product(*(tuning.space[n] for n in names))
        ]
        if len(grid) > tuning.n_candidates:
            pick = sorted(rng.choice(len(grid), size=tuning.n_candidates, replace=False))
            grid = [grid[i] for i in pick]
        points = grid
    else:
        points, seen = [], set()
        for _ in range(tuning.n_candidates * 20):
            point = {name: _sample(rng, dom) for name, dom in tuning.space.items()}
            key = json.dumps(point, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                points.append(point)
            if len(points) == tuning.n_candidates:
                break
    return [{**base, **point} for point in points]


def _sample(rng: np.random.Generator, domain: list[Any] | RangeSpec) -> Any:
    if isinstance(domain, list):
        return domain[int(rng.integers(len(domain)))]
    if domain.log:
        value = math.exp(rng.uniform(math.log(domain.low), math.log(domain.high)))
    else:
        value = rng.uniform(domain.low, domain.high)
    return round(value) if domain.integer else float(f"{value:.6g}")


@dataclass
class TuningData:
    """The rows cross-validation sees: at most `tuning.max_rows` training rows (stratified).

    Made once in the split step, so each fan-out task loads only this sample, not the whole
    training set.
    """

    X: Any
    y: np.ndarray


def tuning_sample(spec: PipelineSpec, data: Split) -> TuningData:
    limit = spec.tuning.max_rows if spec.tuning else None
    n = len(data.y_train)
    if not limit or n <= limit:
        return TuningData(data.X_train, data.y_train)
    rng = np.random.default_rng(spec.split.seed)
    keep = np.concatenate(
        [
            rng.choice(
                np.flatnonzero(data.y_train == c),
                size=round(limit * np.mean(data.y_train == c)),
                replace=False,
            )
            for c in (0, 1)
        ]
    )
    keep.sort()
    return TuningData(data.X_train.iloc[keep].reset_index(drop=True), data.y_train[keep])


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


def select_best(scores: list[CandidateScore]) -> CandidateScore:
    lower = scores[0].metric in LOWER_IS_BETTER
    return sorted(scores, key=lambda s: s.score if lower else -s.score)[0]
