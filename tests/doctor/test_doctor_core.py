"""`mlplatform doctor` as a user runs it: selection, output, exit codes, crashes, --fix."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from mlplatform.doctor import registry, runner
from mlplatform.doctor.base import Check, Finding, Severity, Status
from tests.conftest import assert_one_line_error, free_port, run_cli


@pytest.fixture(autouse=True)
def own_metaflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `local` check reads the Metaflow profile: never the real ~/.metaflowconfig."""
    home = tmp_path / "metaflowconfig"
    home.mkdir()
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    for key in ("METAFLOW_PROFILE", "METAFLOW_DEFAULT_METADATA", "METAFLOW_SERVICE_URL"):
        monkeypatch.delenv(key, raising=False)
    return home


def test_not_configured_is_not_a_failure(workdir: Path) -> None:
    result = run_cli("doctor", "--only", "local", "--only", "postgres", "--only", "s3-datastore",
                     cwd=workdir)  # fmt: skip
    assert result.code == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed, 2 not configured" in result.stdout
    assert "metadata.database_url is unset" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_failure_exits_1_with_details_action_and_runbook(workdir: Path) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    result = run_cli("doctor", "--only", "postgres", "--only", "local", cwd=workdir,
                     env={"MLPLATFORM_METADATA__DATABASE_URL": dead})  # fmt: skip
    assert result.code == 1
    assert "1 passed, 1 failed, 0 not configured" in result.stdout
    assert "postgres failed: cannot connect to 127.0.0.1:" in result.stdout
    assert "Connection refused" in result.stdout
    assert "action: check the instance is available" in result.stdout
    assert "runbook: docs/runbook.md#postgres" in result.stdout
    # the table row: id, status, severity and time to resolve
    row = next(line for line in result.stdout.splitlines() if "│ postgres" in line)
    assert "fail" in row and "critical" in row and "30 minutes" in row


def test_json_document_shape(workdir: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_cli("doctor", "--json", "--only", "local", "--only", "metadata-service",
                     "--only", "efs", cwd=workdir,
                     env={"MLPLATFORM_METADATA__SERVICE_URL": dead})  # fmt: skip
    assert result.code == 1
    document = json.loads(result.stdout)  # stdout holds the document and nothing else
    assert [c["id"] for c in document["checks"]] == ["local", "metadata-service", "efs"]
    fields = {"id", "status", "summary", "details", "action", "severity", "time_to_resolve",
              "runbook", "duration_seconds"}  # fmt: skip
    for check in document["checks"]:
        assert set(check) == fields
        assert isinstance(check["duration_seconds"], float)
    local, service, efs = document["checks"]
    assert local["status"] == "pass" and local["action"] is None
    assert service["status"] == "fail"
    assert service["summary"].startswith(f"cannot reach the metadata service at {dead}")
    assert service["runbook"] == "docs/runbook.md#metadata-service"
    assert service["severity"] == "critical" and service["time_to_resolve"] == "30 minutes"
    assert efs["status"] == "not configured"
    assert document["summary"] == {"passed": 1, "failed": 1, "not_configured": 1,
                                   "text": "1 passed, 1 failed, 1 not configured"}  # fmt: skip


def test_every_registered_check_is_reported(workdir: Path) -> None:
    result = run_cli("doctor", "--json", cwd=workdir)
    assert result.code in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert [c["id"] for c in document["checks"]] == list(registry.CHECKS)


def test_unknown_only_id_is_a_usage_error_listing_valid_ids(workdir: Path) -> None:
    result = run_cli("doctor", "--only", "local", "--only", "postgress", cwd=workdir)
    assert_one_line_error(result, "unknown check id 'postgress'", "valid ids: local, ")
    assert "s3-datastore" in result.stderr
    assert result.stdout == ""


def test_yes_without_fix_is_a_usage_error(workdir: Path) -> None:
    assert_one_line_error(run_cli("doctor", "--yes", cwd=workdir), "--yes only applies to --fix")


# --- a check that raises is a FAIL line, never a traceback ---------------------------------


def _explode(settings: object) -> Finding:
    raise RuntimeError("connection pool exhausted\nwhile probing")


EXPLODING = Check(
    id="local",
    title="explodes",
    checks="nothing",
    action="file a bug",
    severity=Severity.WARNING,
    time_to_resolve="1 hour",
    run=_explode,
)


def test_an_exception_inside_a_check_becomes_a_fail_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlplatform.cli.main import app

    monkeypatch.setitem(registry.CHECKS, "local", f"{__name__}:EXPLODING")
    result = CliRunner().invoke(app, ["doctor", "--only", "local", "--only", "efs"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    line = "local failed: check crashed: RuntimeError: connection pool exhausted while probing"
    assert line in result.output
    assert "action: file a bug" in result.output
    assert "0 passed, 1 failed, 1 not configured" in result.output


def test_a_check_module_that_does_not_import_is_a_fail_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlplatform.settings import get_settings

    monkeypatch.setitem(registry.CHECKS, "efs", "mlplatform.doctor.checks.no_such_module:CHECK")
    (result,) = runner.run(["efs"], get_settings())
    assert result.finding.status is Status.FAIL
    assert result.finding.summary.startswith("check did not load: ModuleNotFoundError: ")
    assert result.check is None and result.runbook == "docs/runbook.md#efs"


# --- --fix on the S3 datastore: moto serves the bucket --------------------------------------


def _bucket_without_versioning() -> str:
    bucket = f"doctor-fix-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    return bucket


def test_fix_dry_run_prints_the_plan_and_changes_nothing(aws: str, workdir: Path) -> None:
    bucket = _bucket_without_versioning()
    env = {"MLPLATFORM_S3__DATASTORE_ROOT": f"s3://{bucket}/metaflow"}
    result = run_cli("doctor", "--only", "s3-datastore", "--fix", "--dry-run", cwd=workdir, env=env)
    assert result.code == 1
    assert f"aws s3api put-bucket-versioning --bucket {bucket}" in result.stdout
    assert "s3-datastore: dry run, nothing changed" in result.stdout
    assert f"versioning is off on bucket {bucket}" in result.stdout
    assert "Status" not in boto3.client("s3").get_bucket_versioning(Bucket=bucket)


def test_fix_declined_changes_nothing(aws: str, workdir: Path) -> None:
    from mlplatform.cli.main import app

    bucket = _bucket_without_versioning()
    env = {"MLPLATFORM_S3__DATASTORE_ROOT": f"s3://{bucket}/metaflow"}
    result = CliRunner().invoke(app, ["doctor", "--only", "s3-datastore", "--fix"], input="n\n",
                                env=env)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Apply the fix for s3-datastore?" in result.output
    assert "s3-datastore: fix not applied" in result.output
    assert "Status" not in boto3.client("s3").get_bucket_versioning(Bucket=bucket)


def test_fix_with_yes_enables_versioning_and_checks_again(aws: str, workdir: Path) -> None:
    bucket = _bucket_without_versioning()
    env = {"MLPLATFORM_S3__DATASTORE_ROOT": f"s3://{bucket}/metaflow"}
    result = run_cli("doctor", "--only", "s3-datastore", "--fix", "--yes", cwd=workdir, env=env)
    assert result.code == 0, result.stdout + result.stderr
    assert f"s3-datastore: enabled versioning on bucket {bucket}; checking again" in result.stdout
    assert "1 passed, 0 failed, 0 not configured" in result.stdout
    status = boto3.client("s3").get_bucket_versioning(Bucket=bucket)["Status"]
    assert status == "Enabled"


def test_fix_with_json_keeps_stdout_a_document(aws: str, workdir: Path) -> None:
    bucket = _bucket_without_versioning()
    env = {"MLPLATFORM_S3__DATASTORE_ROOT": f"s3://{bucket}/metaflow"}
    result = run_cli("doctor", "--only", "s3-datastore", "--fix", "--yes", "--json",
                     cwd=workdir, env=env)  # fmt: skip
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["checks"][0]["status"] == "pass"
    assert f"enabled versioning on bucket {bucket}" in result.stderr


def test_fix_without_a_fixer_says_so(workdir: Path) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    result = run_cli("doctor", "--only", "postgres", "--fix", "--yes", cwd=workdir,
                     env={"MLPLATFORM_METADATA__DATABASE_URL": dead})  # fmt: skip
    assert result.code == 1
    assert "postgres: no automatic fix; see docs/runbook.md#postgres" in result.stdout
    assert "0 passed, 1 failed" in result.stdout


def test_a_fixer_that_raises_leaves_the_check_failed_and_says_why() -> None:
    from mlplatform.doctor.base import Fixer
    from mlplatform.settings import get_settings

    def refuse(settings: object, finding: Finding) -> str:
        raise PermissionError("s3:PutBucketVersioning denied")

    check = Check(id="s3-datastore", title="t", checks="c", action="a", severity=Severity.CRITICAL,
                  time_to_resolve="15 minutes", run=_explode,
                  fixer=Fixer(plan=lambda s, f: ["turn versioning on"], apply=refuse))  # fmt: skip
    failed = [runner.Result("s3-datastore", Finding.failed("versioning is off"), 0.1, check)]
    said: list[str] = []
    after = runner.fix(failed, get_settings(), say=said.append, confirm=lambda q: True,
                       dry_run=False)  # fmt: skip
    assert after == failed
    assert said == [
        "s3-datastore: the fix would",
        "  - turn versioning on",
        "s3-datastore: the fix failed: PermissionError: s3:PutBucketVersioning denied",
    ]
