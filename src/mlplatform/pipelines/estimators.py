"""Estimators by name: short aliases for the common ones, or any dotted import path.

Resolution is lazy (an import at validation time) so a typo fails before a run starts.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any, Literal

EstimatorKind = Literal["classifier", "regressor"]

# The same short name picks the family's classifier or regressor, by the spec's task.
ALIASES: dict[EstimatorKind, dict[str, str]] = {
    "classifier": {
        "logistic_regression": "sklearn.linear_model.LogisticRegression",
        "random_forest": "sklearn.ensemble.RandomForestClassifier",
        "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
        "gradient_boosting": "sklearn.ensemble.GradientBoostingClassifier",
        "extra_trees": "sklearn.ensemble.ExtraTreesClassifier",
        "linear_svm": "sklearn.svm.LinearSVC",
        "lightgbm": "lightgbm.LGBMClassifier",
        "xgboost": "xgboost.XGBClassifier",
        "keras_mlp": "mlplatform.pipelines.keras_adapter.KerasMLPClassifier",
    },
    "regressor": {
        "linear_regression": "sklearn.linear_model.LinearRegression",
        "ridge": "sklearn.linear_model.Ridge",
        "random_forest": "sklearn.ensemble.RandomForestRegressor",
        "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingRegressor",
        "gradient_boosting": "sklearn.ensemble.GradientBoostingRegressor",
        "extra_trees": "sklearn.ensemble.ExtraTreesRegressor",
        "lightgbm": "lightgbm.LGBMRegressor",
        "xgboost": "xgboost.XGBRegressor",
        "keras_mlp": "mlplatform.pipelines.keras_adapter.KerasMLPRegressor",
    },
}
# Families that are optional installs: top-level module -> the extra that brings it.
EXTRAS: dict[str, str] = {"lightgbm": "lightgbm", "xgboost": "xgboost"}

# Models that cannot digest one-hot matrices well get ordinal codes instead (see preprocess).
NATIVE_CATEGORICAL = {
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.HistGradientBoostingRegressor",
}


def resolve_path(name: str, kind: EstimatorKind = "classifier") -> str:
    return ALIASES[kind].get(name, name)


def resolve_estimator(name: str, kind: EstimatorKind = "classifier") -> type:
    """Import the estimator class; raise ValueError with a suggestion when it does not exist."""
    path = resolve_path(name, kind)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        aliases = ALIASES[kind]
        near = difflib.get_close_matches(name, aliases, n=1)
        tip = f"did you mean '{near[0]}'? " if near else ""
        raise ValueError(
            f"unknown {kind} '{name}': {tip}use an alias ({', '.join(sorted(aliases))}) "
            "or a dotted path such as sklearn.ensemble.RandomForestClassifier"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        extra = EXTRAS.get(module_name.split(".")[0])
        if extra:
            raise ValueError(
                f"estimator '{name}' needs the {extra} package, which is not installed: "
                f"pip install 'mlplatform[{extra}]'"
            ) from None
        raise ValueError(
            f"unknown estimator '{name}': module '{module_name}' cannot be imported; "
            "check the dotted path or install the package that provides it"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None or not inspect.isclass(cls):
        members = [m for m, v in vars(module).items() if inspect.isclass(v)]
        near = difflib.get_close_matches(class_name, members, n=1)
        tip = f" (did you mean '{module_name}.{near[0]}'?)" if near else ""
        raise ValueError(f"unknown estimator '{name}': no class '{class_name}'{tip}")
    if not (hasattr(cls, "fit") and hasattr(cls, "predict")):
        raise ValueError(f"'{path}' is not an estimator: it has no fit/predict methods")
    return cls


def estimator_param_names(cls: type) -> list[str]:
    try:
        return sorted(cls().get_params().keys())
    except Exception:  # estimators with required constructor args: fall back to the signature
        return sorted(p for p in inspect.signature(cls).parameters if p not in ("self", "kwargs"))


def accepts_extra_params(cls: type) -> bool:
    """Whether the constructor takes **kwargs (passed on to a native library)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def make_estimator(name: str, params: dict[str, Any], kind: EstimatorKind = "classifier") -> Any:
    return resolve_estimator(name, kind)(**params)
