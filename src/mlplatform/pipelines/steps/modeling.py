"""The preprocessing + estimator pipeline and the cross-validation splitter."""

from __future__ import annotations

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
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from mlplatform.pipelines.estimators import NATIVE_CATEGORICAL, make_estimator
from mlplatform.pipelines.spec import PipelineSpec


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
