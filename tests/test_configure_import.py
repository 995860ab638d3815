"""`mlplatform configure import`: Terraform outputs become the mlplatform and Metaflow profiles."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlplatform.settings import get_settings
from mlplatform.users.model import DirectoryUser
from mlplatform.users.provision.metaflow_profile import profile_for
from tests.conftest import CliResult, assert_one_line_error, run_cli

OUTPUTS = Path(__file__).parent / "data" / "terraform-output.json"
TERRAFORM_PROFILE = json.loads(json.loads(OUTPUTS.read_text())["metaflow_profile_json"]["value"])
IMAGE = TERRAFORM_PROFILE["METAFLOW_BATCH_CONTAINER_IMAGE"]


@pytest.fixture
def homes(tmp_path: Path) -> dict[str, Path]:
    return {"mlplatform": tmp_path / "mlplatform-home", "metaflow": tmp_path / "metaflowconfig"}


def configure(homes: dict[str, Path], *args: str, cwd: Path) -> CliResult:
    env = {"MLPLATFORM_HOME": str(homes["mlplatform"]), "METAFLOW_HOME": str(homes["metaflow"])}
    return run_cli("configure", "import", *args, cwd=cwd, env=env)


def variant(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """The fixture's outputs with one change, as `tf.json` in `tmp_path`."""
    outputs = json.loads(OUTPUTS.read_text())
    change(outputs)
    path = tmp_path / "tf.json"
    path.write_text(json.dumps(outputs, indent=2))
    return path


def with_profile_key(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def change(outputs: dict[str, Any]) -> None:
        profile = json.loads(outputs["metaflow_profile_json"]["value"])
        profile[key] = value
        outputs["metaflow_profile_json"]["value"] = json.dumps(profile)

    return change


def with_setting(section: str, key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(outputs: dict[str, Any]) -> None:
        outputs["platform_settings"]["value"].setdefault(section, {})[key] = value

    return change


def files_of(homes: dict[str, Path]) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for root in homes.values()
        if root.exists()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_import_writes_both_profiles_that_settings_and_metaflow_read(
    homes: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = configure(homes, str(OUTPUTS), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "export MLPLATFORM_PROFILE=prod METAFLOW_PROFILE=prod" in result.stdout
    written = homes["metaflow"] / "config_prod.json"
    assert json.loads(written.read_text()) == TERRAFORM_PROFILE

    monkeypatch.setenv("MLPLATFORM_HOME", str(homes["mlplatform"]))
    monkeypatch.setenv("MLPLATFORM_PROFILE", "prod")  # the `environment` output names it
    get_settings.cache_clear()
    settings = get_settings()
    get_settings.cache_clear()
    assert settings.metaflow.service_url == TERRAFORM_PROFILE["METAFLOW_SERVICE_URL"]
    assert settings.metaflow.batch_job_queue == "mlplatform-prod-cpu"
    assert settings.metaflow.batch_job_role_arn.endswith(":role/mlplatform-prod-batch-job")
    assert settings.metaflow.sfn_role_arn.endswith(":role/mlplatform-prod-step-functions")
    assert settings.metaflow.extra["METAFLOW_BATCH_CONTAINER_IMAGE"] == IMAGE
    assert "AWS_DEFAULT_REGION" not in settings.metaflow.extra  # Metaflow reads METAFLOW_* only
    assert settings.ldap.url == "ldaps://ipa.dataplatform.local:636"
    assert settings.ldap.bind_password_secret == "mlplatform/ldap-manager"
    assert settings.users.permissions_boundary_arn.endswith(":policy/mlplatform-prod-user-boundary")
    assert settings.monitoring.daily_budget == 250 and settings.monitoring.publish_cloudwatch
    assert settings.batch.job_queue == "mlplatform-prod-cpu"
    assert settings.runs.max_workers >= 1  # defaults stay defaults: not frozen into the file

    # Metaflow itself reads the profile it was given.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from metaflow import metaflow_config as c; "
            "print(c.BATCH_CONTAINER_IMAGE, c.DATASTORE_SYSROOT_S3, c.SFN_DYNAMO_DB_TABLE)",
        ],
        env={"METAFLOW_HOME": str(homes["metaflow"]), "METAFLOW_PROFILE": "prod", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == [
        IMAGE,
        TERRAFORM_PROFILE["METAFLOW_DATASTORE_SYSROOT_S3"],
        "mlplatform-prod-sfn-state",
    ]


def test_user_profiles_built_from_the_imported_settings_carry_the_platform_keys(
    homes: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert configure(homes, str(OUTPUTS), "--profile", "default", cwd=tmp_path).code == 0
    monkeypatch.setenv("MLPLATFORM_HOME", str(homes["mlplatform"]))
    get_settings.cache_clear()
    metaflow = get_settings().metaflow
    get_settings.cache_clear()
    alice = DirectoryUser("alice", "Alice Smith", "alice@example.com", "growth", 10001, 10001)

    profile = profile_for(alice, "growth", metaflow)

    expected = {k: v for k, v in TERRAFORM_PROFILE.items() if k.startswith("METAFLOW_")}
    assert {k: profile[k] for k in expected} == expected
    assert profile["METAFLOW_USER"] == "alice"
    assert json.loads(profile["METAFLOW_BATCH_DEFAULT_TAGS"]) == {
        "owner": "alice",
        "team": "growth",
    }


def test_rerun_changes_nothing(homes: dict[str, Path], tmp_path: Path) -> None:
    assert configure(homes, str(OUTPUTS), cwd=tmp_path).code == 0
    before = {p: p.stat().st_mtime_ns for p in homes["mlplatform"].rglob("*.yaml")}
    contents = files_of(homes)

    again = configure(homes, str(OUTPUTS), cwd=tmp_path)

    assert again.code == 0, again.stderr
    assert again.stdout.count("unchanged ") == 2
    assert files_of(homes) == contents
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_dry_run_prints_both_files_and_writes_nothing(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    result = configure(homes, str(OUTPUTS), "--dry-run", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert f"create {homes['mlplatform'] / 'profiles' / 'prod.yaml'}" in result.stdout
    assert f"create {homes['metaflow'] / 'config_prod.json'}" in result.stdout
    assert f'"METAFLOW_BATCH_CONTAINER_IMAGE": "{IMAGE}"' in result.stdout
    assert "permissions_boundary_arn:" in result.stdout
    assert ":secret:mlplatform/slack-webhook-Xy98Zw\n" in result.stdout  # verbatim, not an emoji
    assert "nothing written" in result.stdout
    assert files_of(homes) == {}


def test_changed_outputs_replace_existing_profiles_only_with_force(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    assert configure(homes, str(OUTPUTS), cwd=tmp_path).code == 0
    contents = files_of(homes)
    spot = variant(tmp_path, with_profile_key("METAFLOW_BATCH_JOB_QUEUE", "mlplatform-prod-spot"))

    refused = configure(homes, str(spot), cwd=tmp_path)

    assert_one_line_error(refused, "prod.yaml exists and differs", "--force")
    assert "~ metaflow.batch_job_queue: mlplatform-prod-cpu → mlplatform-prod-spot" in (
        refused.stdout
    )
    assert "~ METAFLOW_BATCH_JOB_QUEUE: mlplatform-prod-cpu → mlplatform-prod-spot" in (
        refused.stdout
    )
    assert files_of(homes) == contents  # neither file, not just the first

    forced = configure(homes, str(spot), "--force", cwd=tmp_path)
    assert forced.code == 0, forced.stderr
    written = json.loads((homes["metaflow"] / "config_prod.json").read_text())
    assert written["METAFLOW_BATCH_JOB_QUEUE"] == "mlplatform-prod-spot"


def test_metaflow_default_profile_is_config_json(homes: dict[str, Path], tmp_path: Path) -> None:
    result = configure(
        homes, str(OUTPUTS), "--profile", "ops", "--metaflow-profile", "default", cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert "export MLPLATFORM_PROFILE=ops\n" in result.stdout  # no METAFLOW_PROFILE=default
    assert (homes["mlplatform"] / "profiles" / "ops.yaml").is_file()
    assert json.loads((homes["metaflow"] / "config.json").read_text()) == TERRAFORM_PROFILE


def test_without_an_environment_output_the_profile_is_default(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    source = variant(tmp_path, lambda outputs: outputs.pop("environment"))
    assert configure(homes, str(source), cwd=tmp_path).code == 0
    assert set(files_of(homes)) == {"profiles/default.yaml", "config.json"}


def _drop(name: str) -> Callable[[dict[str, Any]], object]:
    return lambda outputs: outputs.pop(name)


def _mark_sensitive(outputs: dict[str, Any]) -> None:
    outputs["platform_settings"]["sensitive"] = True


def _settings_metaflow_section(outputs: dict[str, Any]) -> None:
    outputs["platform_settings"]["value"]["metaflow"] = {"batch_job_queue": "other"}


def _profile_not_json(outputs: dict[str, Any]) -> None:
    outputs["metaflow_profile_json"]["value"] = "{METAFLOW_SERVICE_URL: http://x"


BAD_OUTPUTS = {
    "missing metaflow_profile_json": (
        _drop("metaflow_profile_json"),
        [
            "tf.json: output metaflow_profile_json missing",
            "run `terraform output -json > tf.json` in deploy/terraform/envs/prod",
        ],
    ),
    "missing platform_settings": (
        _drop("platform_settings"),
        ["tf.json: output platform_settings missing"],
    ),
    "unknown section": (
        with_setting("ldpa", "url", "ldaps://ipa:636"),
        ["output platform_settings: unknown section 'ldpa' (did you mean 'ldap'?)"],
    ),
    "unknown key": (
        with_setting("ldap", "uri", "ldaps://ipa:636"),
        ["output platform_settings: ldap.uri: unknown key", "deploy/terraform/envs/prod"],
    ),
    "wrong type": (
        with_setting("users", "id_range_start", "many"),
        ["output platform_settings: users.id_range_start: input should be a valid integer"],
    ),
    "metaflow section given twice": (
        _settings_metaflow_section,
        ["section metaflow comes from metaflow_profile_json"],
    ),
    "profile not JSON": (
        _profile_not_json,
        ["output metaflow_profile_json: not a JSON string"],
    ),
    "secret key in the Metaflow profile": (
        with_profile_key("METAFLOW_SERVICE_AUTH_KEY", "k3y-v4lue"),
        ["METAFLOW_SERVICE_AUTH_KEY looks like a secret"],
    ),
    "per-user key in the Metaflow profile": (
        with_profile_key("METAFLOW_USER", "terraform"),
        ["METAFLOW_USER is set per user"],
    ),
    "webhook URL in place of its variable name": (
        with_setting("alerts", "slack_webhook_env", "https://hooks.slack.com/services/T0/B1/abc"),
        ["platform_settings.alerts.slack_webhook_env holds what looks like a secret"],
    ),
    "token in place of its variable name": (
        with_setting("jupyterhub", "token_env", "0f3c9a token"),
        ["jupyterhub.token_env must name an environment variable, not hold the secret"],
    ),
    "password inside a URL": (
        with_setting("metadata", "database_url", "postgresql://metaflow:hunter2@db:5432/mf"),
        ["platform_settings.metadata.database_url holds what looks like a secret"],
    ),
    "sensitive output": (
        _mark_sensitive,
        ["output platform_settings: marked sensitive"],
    ),
}


@pytest.mark.parametrize("case", BAD_OUTPUTS, ids=list(BAD_OUTPUTS))
def test_bad_outputs_are_one_line_and_write_nothing(
    case: str, homes: dict[str, Path], tmp_path: Path
) -> None:
    change, fragments = BAD_OUTPUTS[case]
    result = configure(homes, str(variant(tmp_path, change)), cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert "hunter2" not in result.stderr and "k3y-v4lue" not in result.stderr
    assert files_of(homes) == {}


def test_unreadable_files_are_one_line(homes: dict[str, Path], tmp_path: Path) -> None:
    assert_one_line_error(
        configure(homes, str(tmp_path / "tf.json"), cwd=tmp_path),
        "tf.json: no such file",
        "terraform output -json > tf.json",
    )
    (tmp_path / "broken.json").write_text('{"environment": {"value": "prod"')
    assert_one_line_error(
        configure(homes, str(tmp_path / "broken.json"), cwd=tmp_path), "broken.json: not valid JSON"
    )
    # `terraform output -json metaflow_profile_json` prints one output's value, not all outputs.
    one = tmp_path / "one.json"
    one.write_text(json.dumps(json.loads(OUTPUTS.read_text())["metaflow_profile_json"]["value"]))
    assert_one_line_error(
        configure(homes, str(one), cwd=tmp_path), "one.json: not the output of `terraform output"
    )
    assert_one_line_error(
        configure(homes, str(OUTPUTS), "--profile", "../etc", cwd=tmp_path),
        "profile name '../etc' is not usable as a file name",
    )
    assert files_of(homes) == {}
