"""Step functions without Metaflow: validate, split, tune, train, evaluate, register."""

import sys

import numpy as np
import pandas as pd
import pytest

from mlplatform.errors import DataQualityError
from mlplatform.pipelines.estimators import resolve_estimator
from mlplatform.pipelines.spec import PipelineSpec
from mlplatform.pipelines.steps.evaluation import evaluate
from mlplatform.pipelines.steps.ingest import IngestResult, ingest
from mlplatform.pipelines.steps.modeling import build_pipeline
from mlplatform.pipelines.steps.registration import data_fingerprint, gate_result, registration_tags
from mlplatform.pipelines.steps.search import candidates, select_best
from mlplatform.pipelines.steps.splitting import split, tuning_sample
from mlplatform.pipelines.steps.tuning import score_candidate
from mlplatform.pipelines.steps.validate import enforce_limit, validate
from tests.conftest import small_spec


@pytest.fixture(scope="module")
def spec() -> PipelineSpec:
    return PipelineSpec.model_validate(small_spec())


@pytest.fixture(scope="module")
def validated(spec: PipelineSpec):
    return validate(spec, ingest(spec))


def test_counts_add_up(validated) -> None:
    report = validated.report
    assert report["rows_in"] == report["rows_valid"] + report["rows_quarantined"]
    assert report["tables"]["installs"]["rows_valid"] == report["examples"] == len(validated.table)
    assert report["rows_quarantined"] > 0 and report["reasons"]


def test_schema_rejections_are_quarantined_and_limit_enforced(spec: PipelineSpec) -> None:
    table = pd.DataFrame({"install_hour": ["3", "25", "x"], "purchased_d7": [0, 1, 1]})
    strict = PipelineSpec.model_validate(
        small_spec(
            **{
                "data.max_rejected_fraction": 0.1,
                "data.schema": {"install_hour": {"type": "int", "min": 0, "max": 23}},
            }
        )
    )
    ingested = IngestResult(
        table=table,
        rejected=pd.DataFrame(columns=["table", "source", "line", "reason", "row"]),
        rows_in={"rows": 3},
        table_name="rows",
    )
    result = validate(strict, ingested)
    assert len(result.table) == 1
    assert sorted(result.rejected["reason"]) == [
        "install_hour: less_than_or_equal_to(23.0)",
        "install_hour: wrong type (int)",
    ]
    with pytest.raises(
        DataQualityError, match=r"rows: 66.7% of 3 rows rejected, above the 10.0% limit"
    ):
        enforce_limit(strict, result.report, "/q.csv")


def test_one_class_target_is_a_clear_error(spec: PipelineSpec, validated) -> None:
    table = validated.table.assign(purchased_d7=0)
    with pytest.raises(DataQualityError, match="target 'purchased_d7' has one class"):
        split(spec, table)


def test_random_candidates_are_distinct_and_seeded(spec: PipelineSpec) -> None:
    first, second = candidates(spec), candidates(spec)
    assert first == second and len(first) == 2 and first[0] != first[1]
    assert all(0.03 <= c["learning_rate"] <= 0.3 for c in first)


def test_grid_candidates_capped_at_n() -> None:
    grid = PipelineSpec.model_validate(
        small_spec(
            **{
                "tuning.strategy": "grid",
                "tuning.n_candidates": 3,
                "tuning.space": {"max_leaf_nodes": [7, 15], "learning_rate": [0.05, 0.1]},
            }
        )
    )
    assert len(candidates(grid)) == 3


def test_tune_train_evaluate_register(spec: PipelineSpec, validated) -> None:
    data = split(spec, validated.table)
    sample = tuning_sample(spec, data)
    scores = [score_candidate(spec, sample, p) for p in candidates(spec)]
    best = select_best(scores)
    assert best.score == max(s.score for s in scores) and 0.5 < best.score <= 1
    model = build_pipeline(spec, best.params).fit(data.X_train, data.y_train)
    ev = evaluate(spec, model, data)
    assert set(ev.metrics) == {"roc_auc", "pr_auc", "log_loss", "accuracy"}
    assert ev.metrics["roc_auc"] > 0.65  # the planted relation is learnable
    assert np.sum(ev.confusion) == len(data.y_test)
    assert next(iter(ev.importances)) in spec.features.columns
    passed = gate_result(spec, ev.metrics)
    assert registration_tags(spec, passed)[-1] == ("champion" if passed else "gate:failed")


def test_fingerprint_tracks_content(validated) -> None:
    table = validated.table
    assert data_fingerprint(table) == data_fingerprint(table.copy())
    changed = table.copy()
    changed.loc[0, "d0_events"] += 1
    assert data_fingerprint(changed) != data_fingerprint(table)


def test_text_features_with_missing_values() -> None:
    spec = PipelineSpec.model_validate(
        {
            "version": 1,
            "task": "classification",
            "project": "tests",
            "name": "text",
            "data": {"source": {"kind": "table", "path": "unused.csv"}},
            "target": {"column": "label"},
            "features": {"numeric": ["n"], "text": ["review"]},
            "model": {"estimator": "logistic_regression"},
        }
    )
    frame = pd.DataFrame(
        {
            "n": [1.0, 2.0, None, 4.0] * 5,
            "review": ["great game", None, "crashes a lot", "love it"] * 5,
        }
    )
    y = np.array([1, 0, 0, 1] * 5)
    model = build_pipeline(spec, {}).fit(frame, y)
    assert model.predict_proba(frame).shape == (20, 2)


def test_tuning_sample_is_capped_and_stratified(validated) -> None:
    spec = PipelineSpec.model_validate(small_spec(**{"tuning.max_rows": 1000}))
    data = split(spec, validated.table)
    sample = tuning_sample(spec, data)
    assert len(sample.y) == 1000
    assert abs(sample.y.mean() - data.y_train.mean()) < 0.01


FAMILIES = {
    "lightgbm": (
        {"n_estimators": 60, "verbose": -1, "random_state": 0},
        {"learning_rate": {"low": 0.05, "high": 0.2}, "num_leaves": [15, 31]},
    ),
    "xgboost": (
        {"n_estimators": 60, "random_state": 0},
        {"learning_rate": {"low": 0.05, "high": 0.2}, "max_depth": [3, 5]},
    ),
    "keras_mlp": (
        {"epochs": 8, "hidden_units": [32, 16], "random_state": 0},
        {"learning_rate": {"low": 0.001, "high": 0.01, "log": True}, "dropout": [0.0, 0.2]},
    ),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_algorithm_families_train(validated, family: str) -> None:
    params, space = FAMILIES[family]
    spec = PipelineSpec.model_validate(
        small_spec(**{"model.estimator": family, "model.params": params, "tuning.space": space})
    )
    data = split(spec, validated.table)
    best = select_best(
        [score_candidate(spec, tuning_sample(spec, data), p) for p in candidates(spec)]
    )
    model = build_pipeline(spec, best.params).fit(data.X_train, data.y_train)
    assert evaluate(spec, model, data).metrics["roc_auc"] > 0.65  # learns the planted relation


def test_missing_family_names_its_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if not installed: import fails
    with pytest.raises(ValueError, match=r"pip install 'mlplatform\[lightgbm\]'"):
        resolve_estimator("lightgbm")


def test_open_ended_families_still_catch_typos() -> None:
    # LightGBM takes **kwargs for its booster, so `verbose` is fine and `n_estimator` a typo.
    with pytest.raises(ValueError, match="did you mean 'n_estimators'"):
        PipelineSpec.model_validate(
            small_spec(**{"model.estimator": "lightgbm", "model.params": {"n_estimator": 10}})
        )
