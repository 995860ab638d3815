"""JupyterHub as users meet it: one real hub (proxy, LDAP, TOTP, culler) for the whole module.

Slow parts are shared and overlapped: one server spawn (15-18 s) serves the environment, the
AWS credentials and the culler tests, and the session-expiry login happens first, so its 20 s clock runs while
the other tests do. Usernames carry a `hub-` prefix: the slapd fixture is shared by the session.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pyotp
import pytest

from mlplatform.hub.totp import FileSecretStore
from tests.conftest import AWS_ENV, free_port
from tests.servers.jupyterhub import (
    HUB_CONFIG,
    Hub,
    add_group,
    add_user,
    login,
    server_process,
    set_locked,
    start_hub,
    stop_hub,
    write_config,
)
from tests.servers.slapd import LdapServer

pytestmark = pytest.mark.slow

MEMBERS = ["hub-alice", "hub-bob", "hub-dave", "hub-erin", "hub-frank"]
OUTSIDER = "hub-carol"
LOCKED = "hub-dave"
PASSWORDS = {name: f"{name}-Pw-{secrets.token_hex(4)}" for name in [*MEMBERS, OUTSIDER]}
TOTP = {name: pyotp.random_base32(32) for name in PASSWORDS}
PROFILE = {
    "METAFLOW_DEFAULT_METADATA": "service",
    "METAFLOW_SERVICE_URL": "http://metadata.test:8080",
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://metaflow-artifacts-test/users/hub-alice",
    "METAFLOW_USER": "mallory",  # the hub's value must win over the file's
    "LD_PRELOAD": "/tmp/not-a-metaflow-key.so",  # only METAFLOW_* keys are taken
}


def code(name: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(TOTP[name])
    return totp.at(time.time(), counter_offset=offset)


def wrong_code(name: str) -> str:
    valid = {code(name, o) for o in range(-2, 3)}
    return next(c for o in range(5, 50) if (c := code(name, o)) not in valid)


# Run in hub-alice's server environment: which identity botocore finds there, and how.
WHOAMI = """
import json, boto3
session = boto3.Session()
credentials = session.get_credentials()
frozen = credentials.get_frozen_credentials()
print(json.dumps({
    "arn": session.client("sts").get_caller_identity()["Arn"],
    "method": credentials.method,
    "secrets": [frozen.secret_key, frozen.token],
}))
"""


@pytest.fixture(scope="session")
def hub(
    ldap_server: LdapServer, aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("jupyterhub")
    for name, password in PASSWORDS.items():
        add_user(ldap_server, name, password, locked=name == LOCKED)
    group_dn = add_group(ldap_server, "hub-notebook-users", MEMBERS, gid=30001)
    store = FileSecretStore(folder / "totp.json")
    for name, secret in TOTP.items():
        store.put(name, secret)
    profile = folder / "data" / "hub-alice" / ".metaflowconfig" / "config.json"
    profile.parent.mkdir(parents=True)
    profile.write_text(json.dumps(PROFILE))
    config = write_config(folder, ldap_server, group_dn, [free_port() for _ in range(4)])
    aws = AWS_ENV | {"AWS_ENDPOINT_URL": aws_endpoint}  # the hub host's own identity
    started = start_hub(folder, ldap_server, config, token=secrets.token_hex(32), extra_env=aws)
    yield started
    stop_hub(started)


@dataclass
class EarlySession:
    cookie_header: str
    logged_in_at: float
    home_status: int
    cookie_expires_in: float


@pytest.fixture(scope="session")
def early_session(hub: Hub) -> EarlySession:
    """hub-bob logs in as soon as the hub is up; the expiry test runs last."""
    client, response = login(hub, "hub-bob", PASSWORDS["hub-bob"], code("hub-bob"))
    logged_in_at = time.monotonic()
    assert response.status_code == 302, response.text
    set_cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("jupyterhub-hub-login=")
    )
    expires = re.search(r"expires=([^;]+)", set_cookie, re.IGNORECASE)
    assert expires, set_cookie
    sent = parsedate_to_datetime(response.headers["date"])
    return EarlySession(
        cookie_header="; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        logged_in_at=logged_in_at,
        home_status=client.get("/hub/home").status_code,
        cookie_expires_in=(parsedate_to_datetime(expires.group(1)) - sent).total_seconds(),
    )


@dataclass
class Spawned:
    login_status: int
    ready_at: float
    environ: dict[str, str]
    cwd: str
    whoami: subprocess.CompletedProcess[str]  # WHOAMI run with exactly the server's environment


@pytest.fixture(scope="session")
def spawned(hub: Hub, aws_endpoint: str) -> Spawned:
    """hub-alice logs in, her browser follows the redirect, her server starts."""
    client, response = login(hub, "hub-alice", PASSWORDS["hub-alice"], code("hub-alice"))
    assert response.status_code == 302, response.text
    client.get(response.headers["location"], follow_redirects=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        server = hub.api("GET", "/users/hub-alice").json()["servers"].get("")
        if server and server["ready"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("hub-alice's server never became ready")
    ready_at = time.monotonic()
    process = server_process(hub, "hub-alice")  # now: the culler stops it within seconds
    environ = process.environ()
    # Also now: stopping the server deletes its token, and the credentials with it.
    whoami = subprocess.run(
        [sys.executable, "-c", WHOAMI],
        env=environ | {"AWS_ENDPOINT_URL": aws_endpoint},
        capture_output=True,
        text=True,
        timeout=60,
    )
    hub.secrets_sent.add(environ["JUPYTERHUB_API_TOKEN"])
    return Spawned(response.status_code, ready_at, environ, process.cwd(), whoami)


def test_login_page_asks_for_the_code(hub: Hub, early_session: EarlySession) -> None:
    page = httpx.get(f"{hub.url}/hub/login", timeout=30).text
    assert 'name="otp"' in page
    assert "Authenticator code:" in page


def test_server_starts_with_the_users_metaflow_profile(hub: Hub, spawned: Spawned) -> None:
    env = spawned.environ
    assert spawned.login_status == 302
    assert env["METAFLOW_USER"] == "hub-alice"
    assert env["METAFLOW_HOME"] == str(hub.home_root / "hub-alice" / ".metaflowconfig")
    assert env["METAFLOW_SERVICE_URL"] == PROFILE["METAFLOW_SERVICE_URL"]
    assert env["METAFLOW_DATASTORE_SYSROOT_S3"] == PROFILE["METAFLOW_DATASTORE_SYSROOT_S3"]
    assert "LD_PRELOAD" not in env
    assert env["JUPYTERHUB_ROOT_DIR"] == str(hub.home_root / "hub-alice")
    assert spawned.cwd == str(hub.home_root / "hub-alice")
    # The hub's secrets stay in the hub.
    leaked = {
        "MLPLATFORM_HUB_LDAP_PASSWORD",
        "MLPLATFORM_JUPYTERHUB_TOKEN",
        "CONFIGPROXY_AUTH_TOKEN",
    }
    assert not leaked & env.keys()


def test_server_gets_its_users_role_and_not_the_hosts(hub: Hub, spawned: Spawned) -> None:
    env = spawned.environ
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == hub.credentials_url
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == env["JUPYTERHUB_API_TOKEN"]
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"} & env.keys()
    assert spawned.whoami.returncode == 0, spawned.whoami.stderr
    whoami = json.loads(spawned.whoami.stdout)
    hub.secrets_sent.update(whoami["secrets"])
    assert whoami["method"] == "container-role"
    assert whoami["arn"] == (
        "arn:aws:sts::123456789012:assumed-role/mlplatform-user-hub-alice/hub-alice"
    )


def test_credentials_need_a_users_token(hub: Hub) -> None:
    for token, reason in [("no-such-token", "unknown token"), (hub.token, "not a user's token")]:
        response = httpx.get(hub.credentials_url, headers={"Authorization": token}, timeout=30)
        assert response.status_code == 401
        assert reason in response.json()["message"]


def test_wrong_password_is_refused(hub: Hub) -> None:
    _, response = login(hub, "hub-erin", "not-her-password", code("hub-erin"))
    assert response.status_code == 403
    assert "jupyterhub-hub-login" not in response.headers.get("set-cookie", "")


def test_wrong_or_missing_code_is_refused(hub: Hub) -> None:
    assert (
        login(hub, "hub-erin", PASSWORDS["hub-erin"], wrong_code("hub-erin"))[1].status_code == 403
    )
    assert login(hub, "hub-erin", PASSWORDS["hub-erin"], "")[1].status_code == 403


def test_a_code_is_accepted_once(hub: Hub) -> None:
    current = code("hub-erin")
    assert login(hub, "hub-erin", PASSWORDS["hub-erin"], current)[1].status_code == 302
    assert login(hub, "hub-erin", PASSWORDS["hub-erin"], current)[1].status_code == 403


def test_user_outside_the_allowed_groups_is_refused_even_if_the_hub_knows_them(
    hub: Hub,
) -> None:
    assert hub.api("POST", f"/users/{OUTSIDER}").status_code == 201  # as `mlplatform users` does
    _, response = login(hub, OUTSIDER, PASSWORDS[OUTSIDER], code(OUTSIDER))
    assert response.status_code == 403


def test_locked_user_is_refused(hub: Hub) -> None:
    _, response = login(hub, LOCKED, PASSWORDS[LOCKED], code(LOCKED))
    assert response.status_code == 403


def test_user_disabled_during_a_session_loses_it(hub: Hub, ldap_server: LdapServer) -> None:
    client, response = login(hub, "hub-frank", PASSWORDS["hub-frank"], code("hub-frank"))
    assert response.status_code == 302
    assert client.get("/hub/home").status_code == 200
    set_locked(ldap_server, "hub-frank")
    time.sleep(3.5)  # lock_recheck_seconds: 3 in the test config
    response = client.get("/hub/home")
    assert response.status_code == 302
    assert "/hub/login" in response.headers["location"]


def test_user_manager_token_has_only_its_scopes(hub: Hub) -> None:
    assert hub.api("GET", "/users/hub-alice").status_code == 200
    assert hub.api("GET", "/proxy").status_code == 403  # proxy routes are not its business


def wait_until_ready(hub: Hub, name: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        server = hub.api("GET", f"/users/{name}").json()["servers"].get("")
        if server and server["ready"]:
            return
        time.sleep(0.5)
    pytest.fail(f"{name}'s server never became ready")


def test_onboarding_login_spawn_offboarding_end_to_end(
    hub: Hub, ldap_server: LdapServer, aws_endpoint: str, tmp_path: Path
) -> None:
    """The whole path a new data scientist takes, driven by `mlplatform users` as DevOps run it."""
    import boto3

    from tests.conftest import AWS_ENV, ldap_env, run_cli

    name, password = "hub-grace", f"grace-Pw-{secrets.token_hex(4)}"
    hub.secrets_sent.add(password)
    bucket = f"users-{secrets.token_hex(5)}"
    boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1",
                 aws_access_key_id="t", aws_secret_access_key="t").create_bucket(Bucket=bucket)  # fmt: skip
    site = (
        AWS_ENV
        | ldap_env(ldap_server)
        | {
            "AWS_ENDPOINT_URL": aws_endpoint,
            "MLPLATFORM_EFS__HOME_ROOT": str(hub.home_root),
            "MLPLATFORM_USERS__USERS_BUCKET": bucket,
            "MLPLATFORM_USERS__MFA_FILE": str(hub.totp_file),
            "MLPLATFORM_USERS__AUDIT_LOG": str(tmp_path / "audit.jsonl"),
            "MLPLATFORM_JUPYTERHUB__API_URL": f"{hub.url}/hub/api",
            "MLPLATFORM_JUPYTERHUB_TOKEN": hub.token,
            "MLPLATFORM_METAFLOW__DATASTORE_ROOT": f"s3://{bucket}/metaflow",
            "MLPLATFORM_METAFLOW__SERVICE_URL": "http://metadata.internal:8080",
        }
    )
    added = subprocess.run(
        [sys.executable, "-m", "mlplatform.cli.main", "users", "add", name, "--name", "Grace Hopper",
         "--email", "grace@example.com", "--team", "growth", "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, env=dict(os.environ) | site,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "+ jupyterhub: create hub-grace (hub user)" in added.stdout
    assert hub.api("GET", f"/users/{name}").status_code == 200
    enrolled = run_cli("users", "mfa", "enroll", name, "--no-qr", cwd=tmp_path, env=site)
    assert enrolled.code == 0, enrolled.stderr
    totp = pyotp.parse_uri(enrolled.stdout.strip().splitlines()[-1])

    client, response = login(hub, name, password, totp.now())
    assert response.status_code == 302, response.text
    client.get(response.headers["location"], follow_redirects=True)
    wait_until_ready(hub, name)
    environ = server_process(hub, name).environ()
    assert environ["METAFLOW_USER"] == name
    assert environ["METAFLOW_DATASTORE_SYSROOT_S3"] == f"s3://{bucket}/metaflow"
    assert json.loads(environ["METAFLOW_BATCH_DEFAULT_TAGS"]) == {"owner": name, "team": "growth"}

    removed = run_cli("users", "remove", name, "--yes", cwd=tmp_path, env=site)
    assert removed.code == 0, removed.stderr
    assert "- jupyterhub: remove hub-grace (stop the running server)" in removed.stdout
    assert hub.api("GET", f"/users/{name}").status_code == 404
    assert (hub.home_root / name).is_dir()  # the work stays
    _, again = login(hub, name, password, totp.now())
    assert again.status_code == 403
    deadline = time.monotonic() + 10
    while "username:hub-grace Login denied: account is disabled" not in hub.log.read_text():
        assert time.monotonic() < deadline, "the refusal was not for the disabled account"
        time.sleep(0.2)


def test_idle_culler_stops_the_server(hub: Hub, spawned: Spawned) -> None:
    deadline = spawned.ready_at + 60
    while time.monotonic() < deadline:
        if not hub.api("GET", "/users/hub-alice").json()["servers"]:
            return
        time.sleep(1)
    pytest.fail("the idle culler (timeout 10 s) did not stop hub-alice's server within 60 s")


def test_a_stopped_servers_token_gets_no_more_credentials(hub: Hub, spawned: Spawned) -> None:
    deadline = spawned.ready_at + 60
    while hub.api("GET", "/users/hub-alice").json()["servers"]:
        assert time.monotonic() < deadline, "hub-alice's server was not stopped"
        time.sleep(1)
    token = spawned.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    response = httpx.get(hub.credentials_url, headers={"Authorization": token}, timeout=30)
    assert response.status_code == 401


def test_session_expires_after_its_max_age(hub: Hub, early_session: EarlySession) -> None:
    assert early_session.home_status == 200
    # The browser is told the same lifetime the hub enforces (20 s in the test config).
    assert abs(early_session.cookie_expires_in - hub.session_seconds) <= 2
    time.sleep(max(0.0, early_session.logged_in_at + hub.session_seconds + 1 - time.monotonic()))
    # Send the old cookie by hand, as a client that ignores Expires would: the hub refuses it.
    response = httpx.get(
        f"{hub.url}/hub/home", headers={"Cookie": early_session.cookie_header}, timeout=30
    )
    assert response.status_code == 302
    assert "/hub/login" in response.headers["location"]


def test_no_password_code_or_token_reaches_the_log(hub: Hub) -> None:
    log = hub.log.read_text(errors="replace")
    assert "Login denied" in log  # the log does record refusals, by reason
    for secret in hub.secrets_sent | set(TOTP.values()):
        if not secret:
            continue
        pattern = rf"(?<!\d){secret}(?!\d)" if secret.isdigit() else re.escape(secret)
        assert not re.search(pattern, log), "a secret reached the hub's log"


def test_secrets_file_stays_private(hub: Hub) -> None:
    assert hub.totp_file.stat().st_mode & 0o777 == 0o600


def test_a_bad_config_stops_the_hub_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "jupyterhub.yaml"
    bad.write_text("version: 1\nculler:\n  timeout: soon\n")
    result = subprocess.run(
        [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)],
        cwd=tmp_path,
        env=dict(os.environ) | {"MLPLATFORM_HUB_CONFIG": str(bad)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"{bad}:3: culler.timeout" in result.stderr
