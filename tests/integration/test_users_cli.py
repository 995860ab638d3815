"""`mlplatform users ...` as a DevOps engineer runs it, against slapd, moto and a real home root.

The hub's part of the path (login, spawn, culler, offboarding stops the server) is in
tests/integration/test_user_lifecycle.py; this file covers the directory, AWS and files.
"""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import boto3
import ldap3
import pyotp
import pytest

from tests.conftest import (
    AWS_ENV,
    assert_one_line_error,
    free_port,
    ldap_env,
    run_cli,
)
from tests.servers.slapd import LdapServer

pytestmark = pytest.mark.slow


@pytest.fixture
def site(tmp_path: Path, ldap_server: LdapServer, aws_endpoint: str) -> dict[str, str]:
    """Settings for one site: the shared slapd and moto, a fresh bucket, home root and logs."""
    bucket = f"users-{uuid.uuid4().hex[:10]}"
    env = AWS_ENV | {"AWS_ENDPOINT_URL": aws_endpoint}
    boto3.client("s3", endpoint_url=aws_endpoint, **_creds()).create_bucket(Bucket=bucket)
    (tmp_path / "data").mkdir()
    return (
        env
        | ldap_env(ldap_server)
        | {
            "MLPLATFORM_EFS__HOME_ROOT": str(tmp_path / "data"),
            "MLPLATFORM_USERS__USERS_BUCKET": bucket,
            "MLPLATFORM_USERS__AUDIT_LOG": str(tmp_path / "audit.jsonl"),
            "MLPLATFORM_USERS__MFA_FILE": str(tmp_path / "hub" / "totp.json"),
            "MLPLATFORM_METAFLOW__DATASTORE_ROOT": f"s3://{bucket}/metaflow",
            "MLPLATFORM_METAFLOW__BATCH_JOB_QUEUE": "mlplatform-cpu",
        }
    )


def _creds() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS_ENV["AWS_DEFAULT_REGION"],
    }


def users(*args: str, site: dict[str, str], cwd: Path, stdin: str | None = None):
    if stdin is None:
        return run_cli("users", *args, cwd=cwd, env=site)
    import subprocess
    import sys

    from tests.conftest import CliResult, metaflow_env

    proc = subprocess.run(
        [sys.executable, "-m", "mlplatform.cli.main", "users", *args],
        cwd=cwd,
        env=metaflow_env(cwd) | {"COLUMNS": "200"} | site,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def ldap_entry(server: LdapServer, username: str) -> dict:
    conn = ldap3.Connection(server.url, server.manager_dn, server.manager_password, auto_bind=True)
    conn.search(
        f"cn=users,cn=accounts,{server.base_dn}",
        f"(uid={username})",
        attributes=["uidNumber", "nsAccountLock", "memberOf", "departmentNumber"],
    )
    return conn.entries[0].entry_attributes_as_dict if conn.entries else {}


def audit(site: dict[str, str]) -> list[dict]:
    path = Path(site["MLPLATFORM_USERS__AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()]


def add_args(name: str, *extra: str) -> list[str]:
    return ["add", name, "--name", "Ada Lovelace", "--email", f"{name}@example.com", *extra]


def test_onboarding_dry_run_then_apply_then_nothing_to_do(site, ldap_server, tmp_path) -> None:
    name = unique("ada")
    dry = users(*add_args(name, "--team", "growth", "--dry-run"), site=site, cwd=tmp_path)
    assert dry.code == 0, dry.stderr
    assert f"+ directory: create {name}" in dry.stdout and "Plan: " in dry.stdout
    assert "+ iam: create role mlplatform-user-" in dry.stdout, dry.stdout
    assert ldap_entry(ldap_server, name) == {}  # nothing created by a dry run
    assert not (tmp_path / "data" / name).exists()

    done = users(
        *add_args(name, "--team", "growth", "--password-stdin"),
        site=site,
        cwd=tmp_path,
        stdin="first-Passw0rd\n",
    )
    assert done.code == 0, done.stderr
    assert "Applied" in done.stdout and "first-Passw0rd" not in done.stdout + done.stderr
    entry = ldap_entry(ldap_server, name)
    assert entry["departmentNumber"] == ["growth"] and entry["uidNumber"][0] >= 10000
    home = tmp_path / "data" / name
    assert (
        stat.S_IMODE(home.stat().st_mode) == 0o700 and home.stat().st_uid == entry["uidNumber"][0]
    )
    profile = json.loads((home / ".metaflowconfig" / "config.json").read_text())
    assert profile["METAFLOW_USER"] == name and profile["METAFLOW_BATCH_EMIT_TAGS"] == "true"
    assert json.loads(profile["METAFLOW_BATCH_DEFAULT_TAGS"]) == {"owner": name, "team": "growth"}
    assert ldap3.Connection(
        ldap_server.url,
        f"uid={name},cn=users,cn=accounts,{ldap_server.base_dn}",
        "first-Passw0rd",
    ).bind()

    again = users(*add_args(name, "--team", "growth"), site=site, cwd=tmp_path)
    assert again.code == 0 and "No changes" in again.stdout
    shown = users("show", name, site=site, cwd=tmp_path)
    assert "Everything onboarding sets up is in place" in shown.stdout
    listed = users("list", "--json", site=site, cwd=tmp_path)
    assert name in {u["username"] for u in json.loads(listed.stdout)}
    records = audit(site)
    assert {r["component"] for r in records} >= {"directory", "group", "home", "s3", "iam"}
    assert "first-Passw0rd" not in Path(site["MLPLATFORM_USERS__AUDIT_LOG"]).read_text()


def test_s3_down_leaves_a_state_the_next_run_repairs(site, ldap_server, tmp_path) -> None:
    name = unique("bob")
    down = site | {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    broken = users(*add_args(name), site=down, cwd=tmp_path)
    assert_one_line_error(broken, name, "failed", f"rerun `mlplatform users add {name}")
    assert ldap_entry(ldap_server, name)  # the directory part is done...
    assert (tmp_path / "data" / name / ".metaflowconfig" / "config.json").is_file()
    failed = [r for r in audit(site) if r["outcome"] == "failed"]
    assert failed and failed[0]["username"] == name
    repaired = users(*add_args(name, "--dry-run"), site=site, cwd=tmp_path)
    components = {
        line.split(":")[0].strip("+~-> ")
        for line in repaired.stdout.splitlines()
        if ": " in line and line.strip()[:1] in "+~->"
    }
    assert components == {"s3", "iam"}, repaired.stdout  # ...and only AWS is left to do
    assert users(*add_args(name), site=site, cwd=tmp_path).code == 0
    assert "No changes" in users(*add_args(name), site=site, cwd=tmp_path).stdout


def test_roster_sync_plans_like_terraform_and_offboards_leavers(
    site, ldap_server, tmp_path
) -> None:
    stay, leave, new = unique("stay"), unique("leave"), unique("new")
    for name in (stay, leave):
        assert users(*add_args(name), site=site, cwd=tmp_path).code == 0
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "users:\n"
        f"  - {{username: {stay}, full_name: Stay Here, email: {stay}@example.com, team: research,"
        " groups: [ml-platform-admins]}\n"
        f"  - {{username: {new}, full_name: New Person, email: {new}@example.com, team: growth}}\n"
    )
    plan = users("sync", str(roster), "--dry-run", site=site, cwd=tmp_path)
    assert plan.code == 0, plan.stderr
    assert f"{new} (onboard)" in plan.stdout and f"{leave} (offboard)" in plan.stdout
    assert f"+ group: add ml-platform-admins (member {stay})" in plan.stdout
    assert f"- directory: lock {leave}" in plan.stdout
    assert ldap_entry(ldap_server, new) == {}
    applied = users("sync", str(roster), "--yes", site=site, cwd=tmp_path)
    assert applied.code == 0, applied.stderr
    assert ldap_entry(ldap_server, leave)["nsAccountLock"] == ["TRUE"]
    assert ldap_entry(ldap_server, stay)["departmentNumber"] == ["research"]
    assert (tmp_path / "data" / leave).is_dir()  # offboarding never deletes data
    iam = boto3.client("iam", endpoint_url=site["AWS_ENDPOINT_URL"], **_creds())
    attached = iam.list_attached_role_policies(RoleName=f"mlplatform-user-{leave}")
    assert attached["AttachedPolicies"] == []
    archives = boto3.client(
        "s3", endpoint_url=site["AWS_ENDPOINT_URL"], **_creds()
    ).list_objects_v2(
        Bucket=site["MLPLATFORM_USERS__USERS_BUCKET"], Prefix=f"archive/users/{leave}/"
    )
    assert archives["KeyCount"] == 1
    settled = users("sync", str(roster), "--dry-run", site=site, cwd=tmp_path)
    assert "No changes" in settled.stdout, settled.stdout


def test_mfa_enroll_stores_the_secret_mode_0600_and_prints_a_working_uri(site, tmp_path) -> None:
    name = unique("otp")
    assert users(*add_args(name), site=site, cwd=tmp_path).code == 0
    enrolled = users("mfa", "enroll", name, site=site, cwd=tmp_path)
    assert enrolled.code == 0, enrolled.stderr
    uri = enrolled.stdout.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/")
    assert any(block in enrolled.stdout for block in "\u2580\u2584\u2588")  # the QR code
    store = Path(site["MLPLATFORM_USERS__MFA_FILE"])
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    secret = json.loads(store.read_text())[name]
    assert pyotp.parse_uri(uri).secret == secret
    assert secret not in Path(site["MLPLATFORM_USERS__AUDIT_LOG"]).read_text()


def test_mfa_enroll_into_ldap_is_readable_by_the_hub_account_only(
    site, ldap_server, tmp_path
) -> None:
    name = unique("otpl")
    assert users(*add_args(name), site=site, cwd=tmp_path).code == 0
    ldap_site = site | {"MLPLATFORM_USERS__MFA_STORE": "ldap"}
    enrolled = users("mfa", "enroll", name, "--no-qr", site=ldap_site, cwd=tmp_path)
    assert enrolled.code == 0, enrolled.stderr
    secret = pyotp.parse_uri(enrolled.stdout.strip().splitlines()[-1]).secret
    dn = f"uid={name},cn=users,cn=accounts,{ldap_server.base_dn}"
    hub = ldap3.Connection(
        ldap_server.url, ldap_server.hub_dn, ldap_server.hub_password, auto_bind=True
    )
    hub.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["mlplatformTotpSecret"])
    assert hub.entries[0].entry_attributes_as_dict["mlplatformTotpSecret"] == [secret]
    other = unique("peer")
    assert (
        users(
            *add_args(other, "--password-stdin"), site=site, cwd=tmp_path, stdin="Peer-pass-1\n"
        ).code
        == 0
    )
    peer_dn = f"uid={other},cn=users,cn=accounts,{ldap_server.base_dn}"
    peer = ldap3.Connection(ldap_server.url, peer_dn, "Peer-pass-1", auto_bind=True)
    peer.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["mlplatformTotpSecret"])
    assert not peer.entries[0].entry_attributes_as_dict.get("mlplatformTotpSecret")


@pytest.mark.parametrize("name", ["*)(uid=*", "admin,ou=x", "../etc", "\u0430dmin"])
def test_hostile_usernames_get_one_line_and_touch_nothing(site, tmp_path, name) -> None:
    result = users(*add_args(name), site=site, cwd=tmp_path)
    assert_one_line_error(result, "not a valid username")
    assert list((tmp_path / "data").iterdir()) == []


def test_unreachable_directory_is_one_line(site, tmp_path) -> None:
    dead = site | {"MLPLATFORM_LDAP__URL": f"ldap://127.0.0.1:{free_port()}"}
    result = users("list", site=dead, cwd=tmp_path)
    assert_one_line_error(result, "cannot reach LDAP server")
    wrong = site | {"MLPLATFORM_LDAP_BIND_PASSWORD": "not-the-password"}
    refused = users("list", site=wrong, cwd=tmp_path)
    assert refused.code == 2 and "not-the-password" not in refused.stderr


def test_offboarding_asks_and_keeps_data(site, ldap_server, tmp_path) -> None:
    name = unique("gone")
    assert users(*add_args(name), site=site, cwd=tmp_path).code == 0
    (tmp_path / "data" / name / "notebook.ipynb").write_text("{}")
    removed = users("remove", name, "--yes", site=site, cwd=tmp_path)
    assert removed.code == 0, removed.stderr
    assert f"- directory: lock {name}" in removed.stdout and "> s3: archive" in removed.stdout
    assert (tmp_path / "data" / name / "notebook.ipynb").is_file()
    assert ldap_entry(ldap_server, name)["nsAccountLock"] == ["TRUE"]
    assert "No changes" in users("remove", name, "--yes", site=site, cwd=tmp_path).stdout
