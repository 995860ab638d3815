"""Early stopping for boosted trees: stop adding trees once a held-out score stalls.

`model.early_stopping: {rounds, validation_fraction}` means the same thing for all four
families, though each gets there differently. scikit-learn's boosters split off the validation
rows themselves, so they only get their own parameters. LightGBM and XGBoost need a validation
set passed to `fit`, which a scikit-learn Pipeline cannot do: `EarlyStopped` wraps them and
holds out the rows inside `fit`, after the preprocessing, so cross-validation, tuning and the
final fit all stop early the same way.

The model keeps the rounds up to the best validation score (LightGBM, XGBoost) or all rounds
it ran (scikit-learn's boosters), trained on the rows not held out; it is not refit on all
rows with the found number of rounds.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags, get_tags
from sklearn.utils.metaestimators import available_if

from mlplatform.pipelines.estimators import resolve_estimator

Family = Literal["hist_gradient_boosting", "gradient_boosting", "lightgbm", "xgboost"]

# Parameters that switch or tune early stopping by another route, per family. Set beside
# model.early_stopping they would fight it, so they are refused rather than silently overridden.
_OWN_PARAMS: dict[Family, tuple[str, ...]] = {
    "hist_gradient_boosting": ("early_stopping", "n_iter_no_change", "validation_fraction"),
    "gradient_boosting": ("n_iter_no_change", "validation_fraction"),
    "lightgbm": (
        "early_stopping_round",
        "early_stopping_rounds",
        "early_stopping",
        "n_iter_no_change",
    ),
    "xgboost": ("early_stopping_rounds",),
}


def boosting_family(estimator_cls: type) -> Family | None:
    """Which boosted-tree family a class belongs to; None when it is not a boosted tree.

    LightGBM and XGBoost are looked up only if already imported: a class of theirs imports
    them, so asking about another class never pays for importing them.
    """
    if issubclass(estimator_cls, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        return "hist_gradient_boosting"
    if issubclass(estimator_cls, (GradientBoostingClassifier, GradientBoostingRegressor)):
        return "gradient_boosting"
    lightgbm = sys.modules.get("lightgbm")
    if lightgbm is not None and issubclass(estimator_cls, lightgbm.LGBMModel):
        return "lightgbm"
    xgboost = sys.modules.get("xgboost")
    if xgboost is not None and issubclass(estimator_cls, xgboost.XGBModel):
        return "xgboost"
    return None


def supports_early_stopping(estimator_path: str) -> bool:
    """Whether `model.early_stopping` applies to the estimator at this dotted path."""
    return boosting_family(resolve_estimator(estimator_path)) is not None


def conflicting_params(estimator_path: str, param_names: Iterable[str]) -> list[str]:
    """Parameters (model.params, tuning.space) that would fight `model.early_stopping`."""
    family = boosting_family(resolve_estimator(estimator_path))
    own = _OWN_PARAMS[family] if family else ()
    return [name for name in param_names if name in own]


def make_early_stopped(
    estimator_path: str,
    params: dict[str, Any],
    rounds: int,
    validation_fraction: float,
    seed: int,
) -> BaseEstimator:
    """The estimator at `estimator_path`, built with `params`, that stops early.

    scikit-learn's boosters get their native parameters (and `random_state=seed` unless set,
    so the rows they hold out are the same on every run); LightGBM and XGBoost come wrapped
    in `EarlyStopped`, with `params` on the booster inside (through the wrapper's `set_params`
    they are `estimator__<name>`).
    """
    cls = resolve_estimator(estimator_path)
    family = boosting_family(cls)
    if family is None:
        raise ValueError(
            "early stopping applies to boosted trees (hist_gradient_boosting, gradient_boosting, "
            f"lightgbm, xgboost); remove model.early_stopping for {estimator_path}"
        )
    clash = conflicting_params(estimator_path, list(params))
    if clash:
        raise ValueError(
            f"{', '.join(clash)} would override model.early_stopping for {estimator_path}; "
            "remove them from model.params and tuning.space"
        )
    if family in ("hist_gradient_boosting", "gradient_boosting"):
        native: dict[str, Any] = {
            "n_iter_no_change": rounds,
            "validation_fraction": validation_fraction,
        }
        if family == "hist_gradient_boosting":
            native["early_stopping"] = True  # its default, "auto", stops only above 10,000 rows
        return cls(**{"random_state": seed, **params, **native})
    return EarlyStopped(cls(**params), rounds, validation_fraction, random_state=seed)


class EarlyStopped(MetaEstimatorMixin, BaseEstimator):
    """LightGBM or XGBoost that holds out part of what `fit` gets to decide when to stop.

    Parameters
    ----------
    estimator : LGBMModel or XGBModel
        The unfitted booster; it is cloned in `fit`, never changed. Set its maximum number of
        rounds with `n_estimators` (tuned as `estimator__n_estimators`).
    rounds : int, default=20
        Stop once the validation score has not improved for this many rounds.
    validation_fraction : float, default=0.1
        Share of the rows held out to watch the score; stratified by class for classifiers.
    random_state : int, default=0
        Seed of the held-out split.

    Attributes
    ----------
    estimator_ : the fitted booster.
    best_iteration_ : int
        Rounds the predictions use: a count, also for XGBoost (whose own index counts from 0).
    classes_ : classifiers only, the class labels.
    """

    def __init__(
        self,
        estimator: Any,
        rounds: int = 20,
        validation_fraction: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.rounds = rounds
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> EarlyStopped:
        family = boosting_family(type(self.estimator))
        if family not in ("lightgbm", "xgboost"):
            raise ValueError(
                f"EarlyStopped wraps LightGBM or XGBoost, not {type(self.estimator).__name__}: "
                "scikit-learn's boosters stop early with their own parameters"
            )
        X_fit, X_val, y_fit, y_val, w_fit, w_val = self._split(X, y, sample_weight)
        model = clone(self.estimator)
        if family == "lightgbm":
            self.best_iteration_ = _fit_lightgbm(
                model, (X_fit, y_fit, w_fit), (X_val, y_val, w_val), self.rounds
            )
        else:
            model.set_params(early_stopping_rounds=self.rounds)
            model.fit(
                X_fit,
                y_fit,
                sample_weight=w_fit,
                eval_set=[(X_val, y_val)],
                sample_weight_eval_set=None if w_val is None else [w_val],
                verbose=False,
            )
            self.best_iteration_ = int(model.best_iteration) + 1
        self.estimator_ = model
        if hasattr(model, "classes_"):
            self.classes_ = model.classes_
        self.n_features_in_ = model.n_features_in_
        if hasattr(model, "feature_names_in_"):
            self.feature_names_in_ = model.feature_names_in_
        return self

    def _split(self, X: Any, y: Any, sample_weight: Any) -> list[Any]:
        """Rows to fit on and rows to watch: X, y and weights (None stays None) on both sides."""
        arrays = [X, y] if sample_weight is None else [X, y, np.asarray(sample_weight)]
        options: dict[str, Any] = {
            "test_size": self.validation_fraction,
            "random_state": self.random_state,
        }
        try:
            parts = train_test_split(
                *arrays, stratify=y if is_classifier(self.estimator) else None, **options
            )
        except ValueError:
            # A class too rare to have rows on both sides: split without strata.
            parts = train_test_split(*arrays, **options)
        return parts if sample_weight is not None else [*parts, None, None]

    def predict(self, X: Any) -> Any:
        return self.estimator_.predict(X)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return float(self.estimator_.score(X, y, sample_weight=sample_weight))

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.estimator_.feature_importances_)

    def __sklearn_tags__(self) -> Tags:
        # Classifier or regressor as the booster is: cross_val_score picks stratified folds
        # and scorers such as roc_auc accept the wrapper by these tags.
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags = inner.input_tags
        tags.target_tags.required = True
        return tags


def boosting_rounds_used(fitted_estimator: Any) -> int | None:
    """Boosting rounds the fitted model predicts with; None for anything but a boosted tree.

    Looks through Pipelines (their last step) and TransformedTargetRegressors, nested either
    way round.
    """
    model = fitted_estimator
    while hasattr(model, "steps") or hasattr(model, "regressor_"):
        model = model.steps[-1][1] if hasattr(model, "steps") else model.regressor_
    if isinstance(model, EarlyStopped):
        return int(model.best_iteration_)
    family = boosting_family(type(model))
    if family == "hist_gradient_boosting":
        return int(model.n_iter_)
    if family == "gradient_boosting":
        return int(model.n_estimators_)
    if family == "lightgbm":
        # best_iteration_ is 0 when no early stopping ran: then every round counts.
        return int(model.best_iteration_ or model.booster_.current_iteration())
    if family == "xgboost":
        try:
            return int(model.best_iteration) + 1  # an index from 0
        except AttributeError:  # fitted without early stopping: every round counts
            return int(model.get_booster().num_boosted_rounds())
    return None


def _fit_lightgbm(model: Any, fit: tuple[Any, ...], val: tuple[Any, ...], rounds: int) -> int:
    """Fit on (X, y, weights) watching the validation triple; return the best round (a count)."""
    import lightgbm

    X_val, y_val, w_val = val
    # LightGBM 4.7 deprecates `eval_set` for `eval_X`/`eval_y`; older 4.x only know `eval_set`.
    if "eval_X" in inspect.signature(model.fit).parameters:
        validation: dict[str, Any] = {"eval_X": (X_val,), "eval_y": (y_val,)}
    else:
        validation = {"eval_set": [(X_val, y_val)]}
    model.fit(
        *fit[:2],
        sample_weight=fit[2],
        eval_sample_weight=None if w_val is None else [w_val],
        callbacks=[lightgbm.early_stopping(rounds, verbose=False)],
        **validation,
    )
    return int(model.best_iteration_)
