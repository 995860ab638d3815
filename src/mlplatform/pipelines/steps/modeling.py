"""The preprocessing + estimator pipeline and the cross-validation splitter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
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

# Estimators that need a dense matrix: text features then arrive densified (TF-IDF is capped).
DENSE_ONLY = NATIVE_CATEGORICAL | {
    "mlplatform.pipelines.keras_adapter.KerasMLPClassifier",
    "mlplatform.pipelines.keras_adapter.KerasMLPRegressor",
}


def cv_splitter(spec: PipelineSpec, folds: int) -> BaseCrossValidator:
    if spec.split.strategy == "time":
        return TimeSeriesSplit(n_splits=folds)
    if spec.split.strategy == "random" or spec.task == "regression":
        # Regression's holdout is stratified by target decile (see splitting.strata); its CV
        # folds are plain shuffled K-fold, which scikit-learn's scorers expect.
        return KFold(n_splits=folds, shuffle=True, random_state=spec.split.seed)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=spec.split.seed)


def build_pipeline(spec: PipelineSpec, params: dict[str, Any]) -> Pipeline:
    """Preprocessing + estimator; categorical and text encoding fit the estimator family."""
    feats = spec.features
    path = spec.estimator_path
    native = path in NATIVE_CATEGORICAL
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
        transformers.append((f"text_{column}", text_encoder(spec), column))
    # TF-IDF is sparse: keep it so (a dense 20,000-column matrix would not fit in memory)
    # unless the estimator needs dense input.
    sparse = bool(feats.text) and feats.text_encoder == "tfidf" and path not in DENSE_ONLY
    pre = ColumnTransformer(
        transformers, sparse_threshold=1.0 if sparse else 0.0, verbose_feature_names_out=False
    )
    params = dict(params)
    if native and feats.categorical and "categorical_features" not in params:
        n_num = len(feats.numeric)
        params["categorical_features"] = list(range(n_num, n_num + len(feats.categorical)))
    model = estimator(spec, params)
    if spec.target.transform == "log1p":
        model = TransformedTargetRegressor(
            regressor=model, func=np.log1p, inverse_func=np.expm1, check_inverse=False
        )
    return Pipeline([("preprocess", pre), ("model", model)])


def estimator(spec: PipelineSpec, params: dict[str, Any]) -> Any:
    """The spec's estimator with `params`, wrapped for early stopping when the spec asks."""
    stopping = spec.model.early_stopping
    if stopping is None:
        return make_estimator(spec.model.estimator, params, spec.estimator_kind)
    from mlplatform.pipelines.early_stopping import make_early_stopped

    return make_early_stopped(
        spec.estimator_path,
        params,
        rounds=stopping.rounds,
        validation_fraction=stopping.validation_fraction,
        seed=spec.split.seed,
    )


def text_encoder(spec: PipelineSpec) -> Any:
    if spec.features.text_encoder == "minilm":
        from mlplatform.pipelines.text_embedding import SentenceEmbedder

        return SentenceEmbedder()
    # Words and word pairs, sublinear counts: the strong, cheap baseline for short texts.
    tfidf = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_features=20_000, sublinear_tf=True, dtype=np.float32
    )
    return make_pipeline(FunctionTransformer(_as_text), tfidf)


def _as_text(column: pd.Series) -> pd.Series:
    """Empty text for missing values: TF-IDF cannot digest nulls."""
    return column.fillna("").astype(str)
