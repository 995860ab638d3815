"""`mlplatform init`: every template scaffolds a project whose spec validates and runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow
TEMPLATES = ["classification", "regression", "nlp", "scoring"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_writes_a_project_whose_spec_checks(tmp_path: Path, template: str) -> None:
    made = run_cli(
        "init", "Churn-Model 2", "--template", template, "--project", "growth", cwd=tmp_path
    )
    assert made.code == 0, made.stderr
    project = tmp_path / "Churn-Model 2"
    files = {p.name for p in project.iterdir()}
    assert {"pipeline.yaml", "README.md", "prepare_data.py"} <= files
    spec = yaml.safe_load((project / "pipeline.yaml").read_text())
    assert (spec["task"], spec["project"], spec["name"]) == (template, "growth", "churn_model_2")
    assert "# " in (project / "pipeline.yaml").read_text()  # the example's comments are kept
    if template == "scoring":
        assert spec["scoring"]["model"] == "growth.churn_model_2_model@champion"
        trainer = yaml.safe_load((project / "train.yaml").read_text())
        assert trainer["name"] == "churn_model_2_model"
    checked = run_cli("spec", "check", "pipeline.yaml", cwd=project)
    assert checked.code == 0, checked.stderr
    assert f"ok: growth.churn_model_2 ({template})" in checked.stdout


def test_init_project_runs_with_its_data_hook(tmp_path: Path) -> None:
    made = run_cli("init", "topics", "--template", "nlp", cwd=tmp_path)
    assert made.code == 0, made.stderr
    project = tmp_path / "topics"
    spec = yaml.safe_load((project / "pipeline.yaml").read_text())
    spec["data"]["source"]["rows"] = 1500
    (project / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    hook = subprocess.run(
        [sys.executable, "prepare_data.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert hook.returncode == 0, hook.stderr
    table = pd.read_parquet(project / "data" / "table.parquet")
    assert len(table) == 1500 and {"text", "label"} <= set(table.columns)
    # Point the spec at the hook's file, as its README says, and run it.
    spec["data"]["source"] = {"kind": "table", "path": "data/table.parquet"}
    (project / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    run = run_cli(
        "run",
        "pipeline.yaml",
        "-p",
        "tuning.n_candidates=2",
        "-p",
        "tuning.cv_folds=2",
        cwd=project,
    )
    assert run.code == 0, run.stderr[-3000:]
    assert "status: completed" in run.stdout and "f1_macro: " in run.stdout


def test_init_refuses_to_overwrite_and_bad_names(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert_one_line_error(run_cli("init", "taken", cwd=tmp_path), "already exists and is not empty")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    bad = run_cli("init", "new", "--name", "Bad-Name", cwd=tmp_path)
    assert_one_line_error(bad, "--name 'Bad-Name' is not a valid pipeline name")
    assert not (tmp_path / "new").exists()
