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
    positive: str


def encode_target(spec: PipelineSpec, values: pd.Series) -> tuple[np.ndarray, str]:
    """0/1 labels and the name of the positive class."""
    column = spec.target.column
    present = values.dropna()
    classes = sorted(present.astype(str).unique())
    if len(classes) < 2:
        only = classes[0] if classes else "nothing"
        raise DataQualityError(
            f"target '{column}' has one class ({only}) in {len(present)} valid rows",
            "a classifier needs both classes: widen the data window or check the label",
        )
    positive = str(spec.target.positive) if spec.target.positive is not None else None
    if positive is None:
        if len(classes) > 2:
            raise DataQualityError(
                f"target '{column}' has {len(classes)} classes; this template is binary",
                "set target.positive to the class to predict (one-vs-rest)",
            )
        positive = max(classes, key=lambda c: (_as_number(c), c))
    elif positive not in classes:
        raise DataQualityError(
            f"target.positive '{positive}' never occurs in '{column}'",
            f"use one of: {', '.join(classes[:10])}",
        )
    if values.isna().any():
        raise DataQualityError(
            f"target '{column}' is empty in {int(values.isna().sum())} rows",
            "make the target non-nullable in data.schema so such rows are quarantined",
        )
    return (values.astype(str) == positive).to_numpy(dtype=int), positive


def _as_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("-inf")


def split(spec: PipelineSpec, table: pd.DataFrame) -> Split:
    y, positive = encode_target(spec, table[spec.target.column])
    X = table[spec.features.columns]
    cfg = spec.split
    if cfg.strategy == "time":
        order = np.argsort(table[cfg.time_column].to_numpy(), kind="stable")
        cut = int(len(order) * (1 - cfg.test_size))
        train_idx, test_idx = order[:cut], order[cut:]
    else:
        train_idx, test_idx = _holdout(y, cfg.test_size, cfg.seed, cfg.strategy == "stratified")
    result = Split(
        X_train=X.iloc[train_idx].reset_index(drop=True),
        X_test=X.iloc[test_idx].reset_index(drop=True),
        y_train=y[train_idx],
        y_test=y[test_idx],
        positive=positive,
    )
    for name, part in (("training", result.y_train), ("holdout", result.y_test)):
        if len(np.unique(part)) < 2:
            raise DataQualityError(
                f"the {name} split of '{spec.target.column}' holds one class only",
                "use split.strategy stratified, or more data",
            )
    return result


def _holdout(
    y: np.ndarray, test_size: float, seed: int, stratified: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random holdout; stratified keeps each class's share in both parts."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified else [np.arange(len(y))]
    test = [rng.permutation(g)[: round(len(g) * test_size)] for g in groups]
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx, assume_unique=True)
    return train_idx, test_idx


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
