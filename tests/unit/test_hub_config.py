"""The hub's YAML, what the configurer makes of it, TOTP codes, and the secrets file."""

from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path
from types import SimpleNamespace

import pyotp
import pytest
from traitlets.config import Config

from mlplatform.errors import PlatformError
from mlplatform.hub import (
    FileSecretStore,
    LdapSecretStore,
    configure,
    load_hub_config,
    new_secret,
)
from mlplatform.hub.configurer import CULLER_SCOPES
from mlplatform.hub.profile import ProfileEnvironment, read_profile
from mlplatform.hub.totp import matching_step, provisioning_uri, verify
from mlplatform.users.names import InvalidNameError

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = REPO / "deploy" / "jupyterhub" / "jupyterhub.yaml"
LDAP_PASSWORD = "ldap-Pw-never-in-config"
TOKEN = "0123456789abcdef-user-manager-token"


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLATFORM_HUB_LDAP_PASSWORD", LDAP_PASSWORD)
    monkeypatch.setenv("MLPLATFORM_JUPYTERHUB_TOKEN", TOKEN)


def configured(path: Path = PRODUCTION) -> Config:
    c = Config()
    configure(c, path)
    return c


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jupyterhub.yaml"
    path.write_text(text)
    return path


# --- the configurer --------------------------------------------------------------------------


def test_production_file_gives_the_documented_hub(hub_env: None) -> None:
    c = configured()
    assert c.JupyterHub.bind_url == "http://0.0.0.0:8888/"
    assert c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.LDAPAuthenticator.server_address == "ipa.dataplatform.local"
    assert c.LDAPAuthenticator.server_port == 636
    assert c.LDAPAuthenticator.tls_strategy == "on_connect"
    assert c.LDAPAuthenticator.tls_kwargs["validate"] == ssl.CERT_REQUIRED
    assert c.PlatformLDAPAuthenticator.mfa_mode == "totp"
    assert c.JupyterHub.spawner_class == "localprocess"
    assert "--allow-root" not in c.Spawner.get("args", [])
    assert c.Authenticator.allow_existing_users is False


def test_defaults_are_the_production_values(tmp_path: Path) -> None:
    # The production file spells every default out; it adds only the IPA CA bundle.
    production = load_hub_config(PRODUCTION)
    defaults = load_hub_config(write(tmp_path, "version: 1\n"))
    assert production.ldap.ca_cert_file == "/etc/ipa/ca.crt"
    assert production.ldap.model_copy(update={"ca_cert_file": None}) == defaults.ldap
    assert production.model_copy(update={"ldap": defaults.ldap}) == defaults


def test_culler_runs_as_a_service_with_exactly_its_scopes(hub_env: None) -> None:
    c = configured()
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert culler["command"][1:] == [
        "-m",
        "jupyterhub_idle_culler",
        "--timeout=7200",
        "--cull-every=300",
    ]
    roles = [r for r in c.JupyterHub.load_roles if "idle-culler" in r["services"]]
    assert len(roles) == 1
    assert sorted(roles[0]["scopes"]) == sorted(
        ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    )
    assert roles[0]["scopes"] == CULLER_SCOPES


def test_user_manager_gets_its_token_from_the_environment_and_admin_scopes(
    hub_env: None,
) -> None:
    c = configured()
    service = next(s for s in c.JupyterHub.services if s["name"] == "mlplatform-users")
    assert service["api_token"] == TOKEN
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "mlplatform-users")
    assert role["scopes"] == ["admin:users", "admin:servers", "list:services"]


def test_ldap_password_never_enters_the_config(hub_env: None) -> None:
    assert LDAP_PASSWORD not in repr(configured())


def test_two_hour_session_on_the_hub_and_in_the_browser(hub_env: None) -> None:
    c = configured()
    assert c.JupyterHub.cookie_max_age_days == pytest.approx(2 / 24)
    assert c.JupyterHub.tornado_settings["cookie_options"]["expires_days"] == pytest.approx(2 / 24)


def test_spawner_carries_the_metaflow_user_and_home(hub_env: None) -> None:
    env = configured().Spawner.environment
    spawner = SimpleNamespace(user=SimpleNamespace(name="ana"))
    assert env["METAFLOW_USER"](spawner) == "ana"
    assert env["METAFLOW_HOME"](spawner) == "/data/ana/.metaflowconfig"


def test_simple_spawner_gets_allow_root_only_under_root(hub_env: None, tmp_path: Path) -> None:
    c = configured(write(tmp_path, "version: 1\nspawner: {kind: simple, home_root: /tmp/h}\n"))
    assert c.JupyterHub.spawner_class == "simple"
    assert c.SimpleLocalProcessSpawner.home_dir_template == "/tmp/h/{username}"
    assert ("--allow-root" in c.Spawner.args) == (os.geteuid() == 0)


def test_missing_secret_variable_is_named(hub_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLPLATFORM_JUPYTERHUB_TOKEN")
    with pytest.raises(PlatformError, match="MLPLATFORM_JUPYTERHUB_TOKEN is not set"):
        configured()


# --- one-line errors for a bad file ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 1\nculler:\n  timeout: soon\n", "jupyterhub.yaml:3: culler.timeout"),
        ("version: 1\nldap:\n  sever_address: x\n", "jupyterhub.yaml:3: ldap.sever_address"),
        ("version: 2\n", "jupyterhub.yaml:1: version"),
        ("version: 1\nculler: {timeout: 60}\n", "set cull_every to at most 60"),
        ("version: 1\nldap:\n  allowed_groups: [ml-platform-users]\n", "full DN"),
        ("version: 1\nldap:\n  user_dn_template: uid=x,dc=y\n", "must contain {username}"),
        ("version: 1\nculler:\n  timeout: [\n", "jupyterhub.yaml:4: expected the node"),
    ],
)
def test_bad_file_is_one_line_naming_file_line_and_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(PlatformError) as info:
        load_hub_config(write(tmp_path, text))
    message = info.value.one_line()
    assert fragment in message
    assert "\n" not in message


def test_a_password_in_the_file_is_refused_without_repeating_it(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nldap:\n  search_password_env: hunter2-secret!\n")
    with pytest.raises(PlatformError) as info:
        load_hub_config(path)
    assert "ldap.search_password_env" in info.value.one_line()
    assert "hunter2" not in info.value.one_line()

    path = write(tmp_path, "version: 1\nldap:\n  search_password: hunter2\n")
    with pytest.raises(PlatformError, match="secrets never go in this file"):
        load_hub_config(path)


# --- TOTP codes ------------------------------------------------------------------------------

AT = 1_700_000_000.0  # a fixed clock: codes are a function of (secret, 30 s step)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_code_is_accepted_one_step_either_side(offset: int, accepted: bool) -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(AT, counter_offset=offset)
    assert verify(secret, code, at=AT) is accepted


def test_each_code_reports_its_own_step_for_replay_checks() -> None:
    secret = new_secret()
    steps = [
        matching_step(secret, pyotp.TOTP(secret).at(AT, counter_offset=o), at=AT)
        for o in (-1, 0, 1)
    ]
    assert steps[0] is not None
    assert steps == [steps[0], steps[0] + 1, steps[0] + 2]


@pytest.mark.parametrize(
    "code",
    ["", "12345", "1234567", "12a456", " 123456", "\uff11\uff12\uff13\uff14\uff15\uff16", None],
)
def test_malformed_codes_are_refused(code: object) -> None:
    assert verify(new_secret(), code, at=AT) is False  # type: ignore[arg-type]


def test_corrupt_secret_never_matches() -> None:
    assert verify("not base32 !!", "123456", at=AT) is False


def test_new_secret_and_enrolment_uri() -> None:
    secret = new_secret()
    assert len(secret) == 32 and secret != new_secret()
    uri = provisioning_uri(secret, "ana", "mlplatform")
    assert uri.startswith("otpauth://totp/mlplatform:ana?")
    assert f"secret={secret}" in uri


# --- the secrets file ------------------------------------------------------------------------


def test_file_store_round_trip_creates_a_private_file(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path / "hub" / "totp.json")
    old_umask = os.umask(0)  # the file must be private whatever the umask
    try:
        secret = new_secret()
        store.put("ana", secret)
    finally:
        os.umask(old_umask)
    assert store.get("ana") == secret
    assert store.get("bo") is None
    assert (tmp_path / "hub" / "totp.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "hub").iterdir()] == ["totp.json"]  # no temp files
    store.delete("ana")
    assert store.get("ana") is None


def test_file_store_refuses_a_file_others_can_read(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path / "totp.json")
    store.put("ana", new_secret())
    (tmp_path / "totp.json").chmod(0o644)
    with pytest.raises(PlatformError, match="readable by group or others"):
        store.get("ana")


def test_file_store_refuses_a_symlink(tmp_path: Path) -> None:
    FileSecretStore(tmp_path / "real.json").put("ana", new_secret())
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    with pytest.raises(PlatformError, match="symlink"):
        FileSecretStore(tmp_path / "link.json").get("ana")


def test_file_store_refuses_bad_names_secrets_and_content(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path / "totp.json")
    with pytest.raises(InvalidNameError):
        store.put("../etc", new_secret())
    with pytest.raises(PlatformError, match="not a TOTP secret"):
        store.put("ana", "short")
    (tmp_path / "totp.json").write_text("[1, 2]")
    (tmp_path / "totp.json").chmod(0o600)
    with pytest.raises(PlatformError, match="not a JSON object"):
        store.get("ana")


# --- the Metaflow profile a server starts with -----------------------------------------------


def test_profile_keeps_only_metaflow_keys_the_hub_does_not_own(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        '{"METAFLOW_SERVICE_URL": "http://m:8080", "METAFLOW_BATCH_MAX": 4,'
        ' "METAFLOW_USER": "mallory", "PATH": "/evil", "metaflow_lower": "x"}'
    )
    assert read_profile(path, tmp_path) == {
        "METAFLOW_SERVICE_URL": "http://m:8080",
        "METAFLOW_BATCH_MAX": "4",
    }
    assert read_profile(tmp_path / "missing.json", tmp_path) == {}


def test_profile_through_a_symlink_or_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"METAFLOW_SERVICE_URL": "http://someone-else"}')
    (tmp_path / "link.json").symlink_to(other)
    with pytest.raises(PlatformError, match="symlink"):
        read_profile(tmp_path / "link.json", tmp_path)
    os.mkfifo(tmp_path / "fifo.json")
    result: list[object] = []
    worker = threading.Thread(
        target=lambda: result.append(_raises(read_profile, tmp_path / "fifo.json", tmp_path)),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=5)
    assert result == [True], "read_profile hung on a FIFO or accepted it"


def _raises(func: object, *args: object) -> bool:
    try:
        func(*args)  # type: ignore[operator]
    except PlatformError:
        return True
    return False


def test_pre_spawn_hook_gives_each_spawner_its_own_environment(tmp_path: Path) -> None:
    profile = ProfileEnvironment(str(tmp_path), ".metaflowconfig")
    (tmp_path / "ana" / ".metaflowconfig").mkdir(parents=True)
    (tmp_path / "ana" / ".metaflowconfig" / "config.json").write_text(
        '{"METAFLOW_SERVICE_URL": "http://ana", "METAFLOW_USER": "mallory"}'
    )
    shared = {"METAFLOW_USER": "from-config"}
    ana = SimpleNamespace(user=SimpleNamespace(name="ana"), environment=shared, log=None)
    profile.pre_spawn_hook(ana)
    assert ana.environment == {"METAFLOW_SERVICE_URL": "http://ana", "METAFLOW_USER": "from-config"}
    assert shared == {"METAFLOW_USER": "from-config"}  # the next user's spawner is untouched


def test_concurrent_enrolments_keep_every_secret(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path / "totp.json")
    names = [f"user{i}" for i in range(16)]
    threads = [threading.Thread(target=store.put, args=(n, new_secret())) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(store.get(n) for n in names)


def test_ldap_store_never_shows_its_password() -> None:
    store = LdapSecretStore("ldaps://ipa:636", "uid=hub", "s3cr3t-bind-pw", "uid={username},dc=x")
    assert "s3cr3t-bind-pw" not in repr(store)
