"""Early stopping for the four boosted-tree families, inside the pipeline the flow builds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from mlplatform.pipelines.early_stopping import (
    EarlyStopped,
    boosting_rounds_used,
    conflicting_params,
    make_early_stopped,
    supports_early_stopping,
)

MAX_ROUNDS = 2000
# A small problem a fast learner fits in a few dozen rounds: then the held-out score stalls.
FAST = {"learning_rate": 0.3}
FAMILIES = {
    "hist_gradient_boosting": ("sklearn.ensemble.HistGradientBoosting", {"max_iter": MAX_ROUNDS}),
    "gradient_boosting": ("sklearn.ensemble.GradientBoosting", {"n_estimators": MAX_ROUNDS}),
    "lightgbm": ("lightgbm.LGBM", {"n_estimators": MAX_ROUNDS, "verbose": -1, "n_jobs": 1}),
    "xgboost": ("xgboost.XGB", {"n_estimators": MAX_ROUNDS, "n_jobs": 1}),
}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """As in a fan-out task: OpenMP spinning up threads for 600 rows costs seconds per fit."""
    with threadpool_limits(1):
        yield


def table(kind: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric columns plus one categorical, as the feature table reaches the pipeline."""
    if kind == "Classifier":
        X, y = make_classification(
            n_samples=600, n_features=8, n_informative=4, flip_y=0.1, random_state=0
        )
    else:
        X, y = make_regression(
            n_samples=600, n_features=8, n_informative=4, noise=20.0, random_state=0
        )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["channel"] = np.where(X[:, 0] > 0, "paid", "organic")
    return frame, y


def pipeline(model: Any, frame: pd.DataFrame) -> Pipeline:
    numeric = [c for c in frame.columns if c != "channel"]
    pre = ColumnTransformer(
        [("numeric", StandardScaler(), numeric), ("categorical", OneHotEncoder(), ["channel"])]
    )
    return Pipeline([("preprocess", pre), ("model", model)])


def boosted(family: str, kind: str, **params: Any) -> Any:
    prefix, base = FAMILIES[family]
    return make_early_stopped(
        f"{prefix}{kind}",
        {**base, **FAST, **params},
        rounds=10,
        validation_fraction=0.2,
        seed=0,
    )


@pytest.mark.parametrize("kind", ["Classifier", "Regressor"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_family_stops_well_before_its_maximum(family: str, kind: str) -> None:
    frame, y = table(kind)
    fitted = pipeline(boosted(family, kind), frame).fit(frame, y)

    used = boosting_rounds_used(fitted)
    assert used is not None and 1 <= used < MAX_ROUNDS // 10
    # Stopped, not crippled: it still learned the problem.
    assert fitted.score(frame, y) > (0.8 if kind == "Classifier" else 0.6)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_rounds_used_without_early_stopping_are_all_rounds(family: str) -> None:
    from mlplatform.pipelines.estimators import make_estimator

    prefix, _ = FAMILIES[family]
    rounds = "max_iter" if family == "hist_gradient_boosting" else "n_estimators"
    extra = {"verbose": -1, "n_jobs": 1} if family == "lightgbm" else {}
    model = make_estimator(f"{prefix}Classifier", {rounds: 30, **extra})
    frame, y = table("Classifier")
    assert boosting_rounds_used(pipeline(model, frame).fit(frame, y)) == 30


def test_rounds_used_looks_through_a_transformed_target() -> None:
    frame, y = table("Regressor")
    inside = pipeline(TransformedTargetRegressor(boosted("xgboost", "Regressor")), frame)
    outside = TransformedTargetRegressor(pipeline(boosted("xgboost", "Regressor"), frame))
    for model in (inside, outside):
        used = boosting_rounds_used(model.fit(frame, y))
        assert used is not None and 1 <= used < MAX_ROUNDS // 10


def test_rounds_used_is_none_for_other_models() -> None:
    frame, y = table("Classifier")
    forest = pipeline(RandomForestClassifier(n_estimators=5, random_state=0), frame)
    assert boosting_rounds_used(forest.fit(frame, y)) is None


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_wrapper_survives_clone_cross_validation_and_joblib(family: str, tmp_path: Path) -> None:
    model = boosted(family, "Classifier")
    assert isinstance(model, EarlyStopped) and is_classifier(model)
    assert is_regressor(boosted(family, "Regressor"))

    twin = clone(model).set_params(estimator__n_estimators=500, rounds=5)
    assert twin.get_params()["estimator__n_estimators"] == 500
    assert model.get_params()["estimator__n_estimators"] == MAX_ROUNDS  # the original untouched

    frame, y = table("Classifier")
    scores = cross_val_score(
        pipeline(twin, frame), frame, y, cv=3, scoring="roc_auc", error_score="raise"
    )
    assert scores.min() > 0.8

    fitted = pipeline(model, frame).fit(frame, y)
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(frame), fitted.predict_proba(frame))
    assert boosting_rounds_used(loaded) == boosting_rounds_used(fitted)
    assert list(loaded.classes_) == [0, 1]
    assert loaded[-1].feature_importances_.shape == (frame.shape[1] + 1,)  # one-hot: 2 columns


def test_wrapper_holds_out_weighted_rows_too() -> None:
    frame, y = table("Classifier")
    weights = np.where(y == 1, 2.0, 1.0)
    fitted = pipeline(boosted("lightgbm", "Classifier"), frame)
    fitted.fit(frame, y, model__sample_weight=weights)
    assert 1 <= boosting_rounds_used(fitted) < MAX_ROUNDS // 10  # type: ignore[operator]


def test_scikit_learn_boosters_get_their_own_parameters() -> None:
    hist = boosted("hist_gradient_boosting", "Classifier", random_state=3)
    assert hist.get_params() | {"early_stopping": True, "n_iter_no_change": 10} == hist.get_params()
    assert (hist.validation_fraction, hist.random_state) == (0.2, 3)  # a user's seed is kept
    gb = boosted("gradient_boosting", "Regressor")
    assert (gb.n_iter_no_change, gb.validation_fraction, gb.random_state) == (10, 0.2, 0)


def test_other_estimators_are_refused_with_what_to_do() -> None:
    assert supports_early_stopping("xgboost.XGBRegressor")
    assert supports_early_stopping("lightgbm.sklearn.LGBMClassifier")  # a full module path too
    assert not supports_early_stopping("sklearn.linear_model.LogisticRegression")
    with pytest.raises(ValueError) as caught:
        make_early_stopped("sklearn.ensemble.RandomForestClassifier", {}, 10, 0.1, 0)
    assert str(caught.value) == (
        "early stopping applies to boosted trees (hist_gradient_boosting, gradient_boosting, "
        "lightgbm, xgboost); remove model.early_stopping for sklearn.ensemble.RandomForestClassifier"
    )


def test_parameters_that_would_fight_early_stopping_are_refused() -> None:
    assert conflicting_params("lightgbm.LGBMClassifier", ["n_iter_no_change", "num_leaves"]) == [
        "n_iter_no_change"
    ]
    with pytest.raises(ValueError, match=r"early_stopping_rounds would override"):
        make_early_stopped("xgboost.XGBClassifier", {"early_stopping_rounds": 5}, 10, 0.1, 0)
