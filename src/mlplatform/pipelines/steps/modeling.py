"""Target encoding, the holdout split, and the preprocessing + estimator pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import (
    BaseCrossValidator,
    KFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from mlplatform.errors import DataQualityError
from mlplatform.pipelines.estimators import NATIVE_CATEGORICAL, make_estimator
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
        stratify = y if cfg.strategy == "stratified" else None
        idx = np.arange(len(table))
        train_idx, test_idx = train_test_split(
            idx, test_size=cfg.test_size, random_state=cfg.seed, stratify=stratify
        )
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


def cv_splitter(spec: PipelineSpec, folds: int) -> BaseCrossValidator:
    if spec.split.strategy == "time":
        return TimeSeriesSplit(n_splits=folds)
    if spec.split.strategy == "random":
        return KFold(n_splits=folds, shuffle=True, random_state=spec.split.seed)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=spec.split.seed)


def build_pipeline(spec: PipelineSpec, params: dict[str, Any]) -> Pipeline:
    """Preprocessing + estimator; categorical encoding fits the estimator family."""
    feats = spec.features
    native = spec.model.estimator_path in NATIVE_CATEGORICAL
    if native:
        categorical = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=250,
        )
    else:
        categorical = OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=10, sparse_output=False
        )
    transformers: list[tuple[str, Any, Any]] = []
    if feats.numeric:
        numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        transformers.append(("numeric", numeric, feats.numeric))
    if feats.categorical:
        cat = make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"), categorical)
        transformers.append(("categorical", cat, feats.categorical))
    for column in feats.text:
        text = make_pipeline(FunctionTransformer(_as_text), TfidfVectorizer(max_features=2000))
        transformers.append((f"text_{column}", text, column))
    pre = ColumnTransformer(transformers, sparse_threshold=0.0, verbose_feature_names_out=False)
    params = dict(params)
    if native and feats.categorical and "categorical_features" not in params:
        n_num = len(feats.numeric)
        params["categorical_features"] = list(range(n_num, n_num + len(feats.categorical)))
    return Pipeline([("preprocess", pre), ("model", make_estimator(spec.model.estimator, params))])


def _as_text(column: pd.Series) -> pd.Series:
    """Empty text for missing values: TF-IDF cannot digest nulls."""
    return column.fillna("").astype(str)
