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
from tests.conftest import EXAMPLE_SPEC, small_spec, write_spec


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
    assert spec.model.estimator_path == "sklearn.ensemble.HistGradientBoostingClassifier"
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


def test_other_tasks_say_not_yet(tmp_path: Path) -> None:
    assert "has no template in this version" in _error(tmp_path, small_spec(task="regression"))


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
