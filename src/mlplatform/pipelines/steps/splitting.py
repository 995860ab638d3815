"""Target encoding, the holdout split and the tuning sample: numpy and pandas only.

Kept apart from scikit-learn on purpose: the split step and every step that unpickles a
`Split` then start without importing it (about 3 s per Metaflow task on these machines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.errors import DataQualityError
from mlplatform.pipelines.spec import PipelineSpec


@dataclass
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    positive: str | None  # classification: the class encoded as 1
    classes: list[str]  # nlp: the labels in order; classification: [other, positive]


def encode_target(
    spec: PipelineSpec, values: pd.Series
) -> tuple[np.ndarray, str | None, list[str]]:
    """The target as the estimator sees it: 0/1 (classification), label strings (nlp) or
    floats (regression); plus the positive class and the class list."""
    column = spec.target.column
    if values.isna().any():
        raise DataQualityError(
            f"target '{column}' is empty in {int(values.isna().sum())} rows",
            "make the target non-nullable in data.schema so such rows are quarantined",
        )
    if spec.task == "regression":
        return _numeric_target(spec, values), None, []
    classes = sorted(values.astype(str).unique())
    if len(classes) < 2:
        only = classes[0] if classes else "nothing"
        raise DataQualityError(
            f"target '{column}' has one class ({only}) in {len(values)} valid rows",
            "a classifier needs two classes at least: widen the data window or check the label",
        )
    if spec.task == "nlp":
        return values.astype(str).to_numpy(dtype=object), None, classes
    positive = str(spec.target.positive) if spec.target.positive is not None else None
    if positive is None:
        if len(classes) > 2:
            raise DataQualityError(
                f"target '{column}' has {len(classes)} classes; this template is binary",
                "set target.positive to the class to predict (one-vs-rest), or use task nlp "
                "for labels",
            )
        positive = max(classes, key=lambda c: (_as_number(c), c))
    elif positive not in classes:
        raise DataQualityError(
            f"target.positive '{positive}' never occurs in '{column}'",
            f"use one of: {', '.join(classes[:10])}",
        )
    others = [c for c in classes if c != positive]
    label = "other" if len(others) > 1 else others[0]
    return (values.astype(str) == positive).to_numpy(dtype=int), positive, [label, positive]


def _numeric_target(spec: PipelineSpec, values: pd.Series) -> np.ndarray:
    column = spec.target.column
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        bad = values[numbers.isna()].iloc[0]
        raise DataQualityError(
            f"target '{column}' holds non-numbers such as {bad!r}; regression needs numbers",
            "declare the target `type: float` in data.schema so such rows are quarantined",
        )
    y = numbers.to_numpy(dtype=float)
    if spec.target.transform == "log1p" and (y <= -1).any():
        raise DataQualityError(
            f"target '{column}' has values <= -1, which log1p cannot take",
            "remove target.transform, or add `min: 0` for the target in data.schema",
        )
    return y


def _as_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("-inf")


def split(spec: PipelineSpec, table: pd.DataFrame) -> Split:
    y, positive, classes = encode_target(spec, table[spec.target.column])
    X = table[spec.features.columns]
    cfg = spec.split
    if cfg.strategy == "time":
        order = np.argsort(table[cfg.time_column].to_numpy(), kind="stable")
        cut = int(len(order) * (1 - cfg.test_size))
        train_idx, test_idx = order[:cut], order[cut:]
    else:
        groups = strata(spec, y) if cfg.strategy == "stratified" else np.zeros(len(y), dtype=int)
        train_idx, test_idx = _holdout(groups, cfg.test_size, cfg.seed)
    result = Split(
        X_train=X.iloc[train_idx].reset_index(drop=True),
        X_test=X.iloc[test_idx].reset_index(drop=True),
        y_train=y[train_idx],
        y_test=y[test_idx],
        positive=positive,
        classes=classes,
    )
    if spec.task == "regression":
        if min(len(result.y_train), len(result.y_test)) < 2:
            raise DataQualityError(f"too few rows to split: {len(y)} valid rows", "use more data")
        return result
    for name, part in (("training", result.y_train), ("holdout", result.y_test)):
        if len(np.unique(part)) < 2:
            raise DataQualityError(
                f"the {name} split of '{spec.target.column}' holds one class only",
                "use split.strategy stratified, or more data",
            )
    return result


def strata(spec: PipelineSpec, y: np.ndarray) -> np.ndarray:
    """Group ids to stratify by: the class, or for regression the target's decile, so the
    holdout sees the long tail (a few big spenders) as often as the training rows do."""
    if spec.task != "regression":
        return np.unique(y, return_inverse=True)[1]
    edges = np.unique(np.quantile(y, np.linspace(0, 1, 11)[1:-1]))
    return np.searchsorted(edges, y, side="right")


def _holdout(groups: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random holdout that keeps each group's share in both parts."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    test = [rng.permutation(m)[: round(len(m) * test_size)] for m in members]
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(groups)), test_idx, assume_unique=True)
    return train_idx, test_idx


@dataclass
class TuningData:
    """The rows cross-validation sees: at most `tuning.max_rows` training rows (stratified by
    class, or by target decile for regression).

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
    groups = strata(spec, data.y_train)
    keep = np.concatenate(
        [
            rng.choice(members, size=round(limit * len(members) / n), replace=False)
            for members in (np.flatnonzero(groups == g) for g in np.unique(groups))
        ]
    )
    keep.sort()
    return TuningData(data.X_train.iloc[keep].reset_index(drop=True), data.y_train[keep])
