"""Each template runs end to end from its example spec in `examples/pipelines/`.

The specs are the examples themselves, shrunk with `--param` (fewer rows, candidates and
folds) so the three runs take a few minutes together. Results are read back through the
Metaflow client, as a user would.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, card_contents, metaflow_env, run_cli, write_spec

pytestmark = pytest.mark.slow
EXAMPLES = REPO / "examples" / "pipelines"


def _lines(stdout: str) -> dict[str, str]:
    return dict(
        ln.split(": ", 1)
        for ln in stdout.splitlines()
        if ": " in ln and not ln.startswith(("│", "┃"))
    )


def _run(workdir: Path, spec: Path, *params: str) -> dict[str, str]:
    args = [arg for param in params for arg in ("--param", param)]
    result = run_cli("run", str(spec), "--max-workers", "2", *args, cwd=workdir)
    assert result.code == 0, result.stderr[-3000:]
    return _lines(result.stdout)


def _artifacts(workdir: Path, pathspec: str, step: str, *names: str) -> list[Any]:
    """Artifacts of a step, read with the Metaflow client in the run's folder (the client
    finds `.metaflow` from the working directory, fixed when Metaflow is imported)."""
    out = workdir / "artifacts.pkl"
    script = (
        "import pickle, sys; from metaflow import Run, namespace; namespace(None); "
        f"data = Run({pathspec!r})[{step!r}].task.data; "
        f"pickle.dump([getattr(data, n) for n in {list(names)!r}], open({str(out)!r}, 'wb'))"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=workdir,
        env=metaflow_env(workdir),
        check=True,
        timeout=120,
    )
    with out.open("rb") as handle:
        return list(pickle.load(handle))


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    workdir = tmp_path_factory.mktemp("regression")
    lines = _run(
        workdir,
        EXAMPLES / "appsflyer_d30_revenue.yaml",
        "data.source.installs=4000",
        "tuning.n_candidates=4",
        "tuning.cv_folds=2",
        "model.params.max_iter=60",
    )
    return workdir, lines


@pytest.fixture(scope="module")
def nlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    workdir = tmp_path_factory.mktemp("nlp")
    lines = _run(
        workdir,
        EXAMPLES / "support_messages.yaml",
        "data.source.rows=3000",
        "tuning.n_candidates=3",
        "tuning.cv_folds=2",
    )
    return workdir, lines


def test_regression_template_end_to_end(regression: tuple[Path, dict[str, str]]) -> None:
    workdir, lines = regression
    for metric in ("rmse", "mae", "r2"):
        assert metric in lines
    assert float(lines["rmse"]) > 0 and float(lines["mae"]) > 0
    assert float(lines["r2"]) > 0.05  # day-0/1 behaviour explains some of day-30 revenue
    (evaluation,) = _artifacts(workdir, lines["run"], "evaluate", "evaluation")
    assert len(evaluation.predicted) == len(evaluation.actual) > 100  # the card's scatter plots
    assert min(evaluation.predicted) > -1  # log1p target: predictions come back as expm1(.)
    texts, images = card_contents(Path(lines["card_path"]).read_text())
    # predicted vs actual, residuals, permutation importance, tuning
    assert images == 4 and "## Plots" in texts


def test_bayesian_tuning_learns_in_the_second_round(
    regression: tuple[Path, dict[str, str]],
) -> None:
    workdir, lines = regression
    scores, best = _artifacts(workdir, lines["run"], "select", "scores", "best")
    assert sorted(s.round for s in scores) == [1, 1, 2, 2]
    assert sorted(s.trial for s in scores) == [0, 1, 2, 3]  # Optuna trials, told and asked
    assert all(s.metric == "rmse" and s.score > 0 for s in scores)
    assert best.score == min(s.score for s in scores)  # lower rmse is better


def test_early_stopping_is_recorded_for_boosted_trees(
    regression: tuple[Path, dict[str, str]],
) -> None:
    workdir, lines = regression
    (model,) = _artifacts(workdir, lines["run"], "train", "model")
    regressor = model.named_steps["model"].regressor_  # inside the log1p transform
    assert regressor.n_iter_ < 60  # stopped before max_iter: early stopping took effect


def test_nlp_template_end_to_end(nlp: tuple[Path, dict[str, str]]) -> None:
    workdir, lines = nlp
    assert float(lines["f1_macro"]) > 0.6
    (evaluation,) = _artifacts(workdir, lines["run"], "evaluate", "evaluation")
    labels = ["account", "billing", "bug", "feature_request", "praise"]
    assert evaluation.labels == labels
    assert set(evaluation.per_class) == set(labels)
    assert all(
        0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1 for m in evaluation.per_class.values()
    )
    assert len(evaluation.confusion) == len(labels)
    assert sum(map(sum, evaluation.confusion)) == evaluation.holdout_rows
    texts, images = card_contents(Path(lines["card_path"]).read_text())
    assert "## Per class" in texts and images == 3  # per-class bars, confusion, tuning


def test_scoring_trains_a_champion_first_then_scores(tmp_path: Path) -> None:
    """A fresh setup: no champion, so the scoring spec's train_spec runs first."""
    training = yaml.safe_load((EXAMPLES / "appsflyer_d7_purchase.yaml").read_text())
    training["data"]["source"]["installs"] = 3000
    training["tuning"].update(n_candidates=2, cv_folds=2)
    training["model"]["params"]["max_iter"] = 40
    write_spec(tmp_path / "train.yaml", training)
    scoring = yaml.safe_load((EXAMPLES / "score_d7_purchase.yaml").read_text())
    scoring["data"]["source"]["installs"] = 2000
    scoring["scoring"]["train_spec"] = "train.yaml"
    spec = write_spec(tmp_path / "score.yaml", scoring)

    result = run_cli("run", str(spec), "--max-workers", "2", cwd=tmp_path)
    assert result.code == 0, result.stderr[-3000:]
    assert "no champion for marketing.d7_purchase yet: training it first" in result.stderr
    lines = _lines(result.stdout)
    assert lines["model_version"].startswith("ClassificationFlow/")
    # Raw rows (installs and in-app events) are valid or quarantined, never dropped; the
    # valid installs become the rows scored.
    rows_in, valid, rejected = (int(lines[k]) for k in ("rows_in", "rows_valid", "rows_rejected"))
    assert rejected > 0 and valid + rejected == rows_in
    scored = int(lines["rows_scored"])
    assert 0 < scored < valid

    manifest = yaml.safe_load(Path(lines["predictions"]).read_text())
    predictions = pd.concat(pd.read_parquet(f) for f in manifest["files"])
    assert len(predictions) == scored == manifest["rows"]
    assert set(predictions.columns) >= {
        "appsflyer_id", "prediction", "score", "model_version", "scored_at", "scoring_run"
    }  # fmt: skip
    assert (predictions["model_version"] == lines["model_version"]).all()
    assert predictions["score"].between(0, 1).all()
    assert predictions["appsflyer_id"].is_unique

    again = run_cli("run", str(spec), "--max-workers", "2", cwd=tmp_path)
    assert again.code == 0, again.stderr[-3000:]
    assert "training it first" not in again.stderr  # the champion now exists
    assert _lines(again.stdout)["model_version"] == lines["model_version"]


def test_scoring_without_champion_or_train_spec_is_one_line(tmp_path: Path) -> None:
    scoring = yaml.safe_load((EXAMPLES / "score_d7_purchase.yaml").read_text())
    del scoring["scoring"]["train_spec"]
    spec = write_spec(tmp_path / "score.yaml", scoring)
    result = run_cli("run", str(spec), cwd=tmp_path)
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "has no champion model to score with" in result.stderr
