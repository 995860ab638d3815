"""Real local Metaflow runs through the CLI and directly; results read back by the client."""

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from mlplatform.pipelines.flows import TEMPLATES
from tests.conftest import (
    assert_one_line_error,
    card_contents,
    metaflow_env,
    run_cli,
    small_spec,
    table_spec,
    write_spec,
)

pytestmark = pytest.mark.slow


def _lines(stdout: str) -> dict[str, str]:
    return dict(
        ln.split(": ", 1)
        for ln in stdout.splitlines()
        if ": " in ln and not ln.startswith(("│", "┃"))
    )


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """One trained run shared by the tests below (a Metaflow run costs about a minute)."""
    workdir = tmp_path_factory.mktemp("trained")
    spec = write_spec(workdir / "spec.yaml", small_spec())
    result = run_cli(
        "run", str(spec), "--max-workers", "2", "--param", "model.params.max_iter=40", cwd=workdir
    )
    assert result.code == 0, result.stderr[-3000:]
    return workdir, result, _lines(result.stdout)


def test_run_prints_results_for_people_and_scripts(trained) -> None:
    _, result, lines = trained
    assert "best hyperparameters" in result.stdout
    for metric in ("roc_auc", "pr_auc", "log_loss", "accuracy"):
        assert 0.0 <= float(lines[metric]) <= 1.0
    assert float(lines["roc_auc"]) > 0.65
    assert int(lines["rows_in"]) == int(lines["rows_valid"]) + int(lines["rows_quarantined"])
    assert int(lines["rows_quarantined"]) > 0


def test_run_outputs_model_card_and_quarantine(trained) -> None:
    _, _, lines = trained
    model = joblib.load(lines["model_path"])
    sample = pd.DataFrame([{c: 0 for c in model.feature_names_in_}]).astype(
        {
            "media_source": str,
            "campaign": str,
            "country_code": str,
            "platform": str,
            "attributed_touch_type": str,
        }
    )
    assert model.predict_proba(sample).shape == (1, 2)
    texts, images = card_contents(Path(lines["card_path"]).read_text())
    # ROC, PR, calibration, confusion, importance, tuning
    assert images == 6 and any(t.startswith("# marketing.d7_purchase") for t in texts)
    quarantine = pd.read_csv(Path(lines["model_path"]).parent / "quarantine.csv")
    assert int(lines["rows_quarantined"]) == len(quarantine)
    assert {"table", "source", "line", "reason", "row"} == set(quarantine.columns)


def test_runs_list_and_show(trained) -> None:
    workdir, _, lines = trained
    listed = run_cli("runs", "list", "--pipeline", "marketing.d7_purchase", cwd=workdir)
    assert listed.code == 0 and lines["run"] in listed.stdout and "completed" in listed.stdout
    shown = run_cli("runs", "show", lines["run"].split("/")[1], "--json", cwd=workdir)
    info = json.loads(shown.stdout)
    assert info["status"] == "completed"
    assert "champion" in info["tags"] and "pipeline:marketing.d7_purchase" in info["tags"]
    assert info["summary"]["metrics"]["roc_auc"] == pytest.approx(float(lines["roc_auc"]), abs=1e-4)
    assert info["summary"]["best_params"]["max_iter"] == 40  # the --param override reached the run


def test_failure_inside_flow_is_one_line_and_registers_nothing(workdir: Path) -> None:
    data = workdir / "d.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=60), "colour": ["red", "blue"] * 30, "label": 0}).to_csv(
        data, index=False
    )
    spec = write_spec(workdir / "s.yaml", table_spec(data))
    result = run_cli("run", str(spec), cwd=workdir)
    assert_one_line_error(
        result, "step 'split' failed", "DataQualityError", "one class", "full log:"
    )
    assert not list(workdir.glob("mlplatform-runs/*/*/model.joblib"))
    shown = run_cli("runs", "list", cwd=workdir)
    assert "failed" in shown.stdout


def test_wrong_type_over_limit_fails_validate(workdir: Path) -> None:
    data = workdir / "d.csv"
    rows = pd.DataFrame(
        {"x": ["1.5", "oops", "2", "n/a"] * 10, "colour": "red", "label": [0, 1] * 20}
    )
    rows.to_csv(data, index=False)
    spec = write_spec(
        workdir / "s.yaml",
        table_spec(
            data, **{"data.schema": {"x": {"type": "float"}}, "data.max_rejected_fraction": 0.2}
        ),
    )
    result = run_cli("run", str(spec), cwd=workdir)
    assert_one_line_error(
        result, "step 'validate' failed", "50.0% of 40 rows rejected", "x: wrong type (float)"
    )
    quarantine = next(workdir.glob("mlplatform-runs/*/*/quarantine.csv"))
    assert len(pd.read_csv(quarantine)) == 20


def test_flow_runs_directly_with_metaflow(workdir: Path) -> None:
    data = workdir / "d.parquet"
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    pd.DataFrame(
        {
            "x": x,
            "colour": rng.choice(["red", "blue"], 400),
            "label": (x + rng.normal(size=400) > 0).astype(int),
        }
    ).to_parquet(data)
    spec = write_spec(
        workdir / "s.yaml", table_spec(data, **{"evaluation.gate": "roc_auc >= 0.99"})
    )
    _, flow_file = TEMPLATES["classification"]
    proc = subprocess.run(
        [sys.executable, str(flow_file), "--config", "pipeline", str(spec), "run"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        env=metaflow_env(workdir),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    shown = run_cli("runs", "show", "--json", _latest(workdir), cwd=workdir)
    info = json.loads(shown.stdout)
    assert "gate:failed" in info["tags"] and "champion" not in info["tags"]


def _latest(workdir: Path) -> str:
    return sorted(
        p.name
        for p in (workdir / ".metaflow" / "ClassificationFlow").iterdir()
        if p.name[0].isdigit()
    )[-1]
