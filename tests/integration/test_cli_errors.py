"""Bad input through the real CLI: one line on stderr, exit code 2, no traceback, nothing run."""

from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli, small_spec, table_spec, write_spec


def test_missing_data_file(workdir: Path) -> None:
    spec = write_spec(workdir / "s.yaml", table_spec(workdir / "nope.csv"))
    result = run_cli("run", str(spec), cwd=workdir)
    assert_one_line_error(result, "data.source.path: no file matches", "nope.csv")
    assert not (workdir / ".metaflow").exists()


def test_corrupt_csv(workdir: Path) -> None:
    data = workdir / "d.csv.gz"
    data.write_bytes(b"\x1f\x8b\x08\x00not really gzip at all")
    spec = write_spec(workdir / "s.yaml", table_spec(data))
    assert_one_line_error(
        run_cli("run", str(spec), cwd=workdir), "d.csv.gz: cannot read the header"
    )


def test_required_column_missing(workdir: Path) -> None:
    data = workdir / "d.csv"
    data.write_text("x,colour\n1,red\n")
    spec = write_spec(workdir / "s.yaml", table_spec(data))
    assert_one_line_error(
        run_cli("run", str(spec), cwd=workdir), "d.csv: required column 'label' is missing"
    )


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"tuning.strategy": "random", "tuning.space": {}}, "search space is empty"),
        ({"model.estimator": "sklearn.linear_model.LogisticRegresion"}, "LogisticRegression"),
        ({"split.test_sise": 0.3}, "did you mean 'test_size'?"),
        ({"tuning.cv_folds": "many", "tuning.space": {"C": [1]}}, "tuning.cv_folds"),
    ],
)
def test_bad_spec(workdir: Path, changes: dict, fragment: str) -> None:
    data = workdir / "d.csv"
    data.write_text("x,colour,label\n1,red,0\n")
    spec = write_spec(workdir / "s.yaml", table_spec(data, **changes))
    assert_one_line_error(run_cli("run", str(spec), cwd=workdir), "s.yaml:", fragment)


def test_bad_param_override(workdir: Path) -> None:
    spec = write_spec(workdir / "s.yaml", small_spec())
    result = run_cli("spec", "check", str(spec), "--param", "tuning.n_candidates=0", cwd=workdir)
    assert_one_line_error(result, "tuning.n_candidates")


def test_spec_check_ok(workdir: Path) -> None:
    spec = write_spec(workdir / "s.yaml", small_spec())
    result = run_cli("spec", "check", str(spec), cwd=workdir)
    assert result.code == 0 and "ok: marketing.d7_purchase" in result.stdout


def test_unknown_run(workdir: Path) -> None:
    assert_one_line_error(run_cli("runs", "show", "123", cwd=workdir), "run '123' not found")


def test_batch_without_s3_datastore_says_what_to_configure(workdir: Path) -> None:
    spec = write_spec(workdir / "s.yaml", small_spec())
    result = run_cli(
        "run", str(spec), "--on", "batch", cwd=workdir, env={"METAFLOW_DEFAULT_DATASTORE": "local"}
    )
    assert_one_line_error(
        result, "--on batch needs the Metaflow datastore on S3", "METAFLOW_DATASTORE_SYSROOT_S3"
    )
    assert not (workdir / ".metaflow").exists()


def test_generate_then_check_an_appsflyer_spec(workdir: Path) -> None:
    raw = workdir / "raw"
    generated = run_cli(
        "appsflyer", "generate", "--out", str(raw), "--installs", "500", cwd=workdir
    )
    assert generated.code == 0, generated.stderr
    assert "installs: 500" in generated.stdout
    spec = small_spec()
    spec["data"]["source"] = {
        "kind": "appsflyer",
        "installs": str(raw / "*" / "*installs_report" / "dt=*" / "*.csv"),
        "in_app_events": str(raw / "*" / "*in_app_events_report" / "dt=*" / "*.csv"),
    }
    checked = run_cli("spec", "check", str(write_spec(workdir / "s.yaml", spec)), cwd=workdir)
    assert checked.code == 0 and "source appsflyer" in checked.stdout
    spec["data"]["source"]["installs"] = str(workdir / "missing" / "*.csv")
    failed = run_cli("spec", "check", str(write_spec(workdir / "s.yaml", spec)), cwd=workdir)
    assert_one_line_error(failed, "data.source.installs: no file matches")
