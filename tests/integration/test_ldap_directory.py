"""LdapDirectory against a real slapd in FreeIPA's layout (the session's `ldap_server`)."""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap3
import pydantic
import pytest

from mlplatform.errors import PlatformError
from mlplatform.settings import LdapSettings, get_settings
from mlplatform.users.directory.ldap import PLACEHOLDER_MEMBER, LdapDirectory
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.names import InvalidNameError
from tests.conftest import free_port, ldap_env
from tests.servers.slapd import LdapServer

pytestmark = pytest.mark.slow

TOTP = "mlplatformTotpSecret"
HOSTILE_NAMES = ["admin,ou=x", "../etc", "\u0430dmin", "\uff41\uff44\uff4d\uff49\uff4e", "*)(uid=*"]


@pytest.fixture
def directory(ldap_server: LdapServer, monkeypatch: pytest.MonkeyPatch) -> LdapDirectory:
    """Built the way the CLI builds it: from MLPLATFORM_* settings, as the manager account."""
    for key, value in ldap_env(ldap_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLPLATFORM_EFS__HOME_ROOT", "/efs/home")
    get_settings.cache_clear()
    return LdapDirectory.from_settings(get_settings())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def next_id(directory: LdapDirectory) -> int:
    return max(directory.used_ids() | {9999}) + 1


def spec(username: str, **changes: Any) -> UserSpec:
    fields = {"username": username, "full_name": "Ada Lovelace", "email": f"{username}@ex.com"}
    return UserSpec(**(fields | {"team": "growth"} | changes))


def created(directory: LdapDirectory, prefix: str = "u", **changes: Any) -> str:
    name = unique(prefix)
    directory.create_user(spec(name, **changes), next_id(directory))
    return name


def fetched(directory: LdapDirectory, name: str) -> DirectoryUser:
    user = directory.get_user(name)
    assert user is not None, name
    return user


def user_dn(server: LdapServer, name: str) -> str:
    return f"uid={name},cn=users,cn=accounts,{server.base_dn}"


def bind(server: LdapServer, dn: str, password: str) -> ldap3.Connection:
    return ldap3.Connection(ldap3.Server(server.url, get_info=ldap3.NONE), dn, password)


def raw(server: LdapServer, dn: str, *attributes: str) -> dict[str, list[Any]]:
    """An entry as the manager account sees it, bypassing LdapDirectory."""
    conn = bind(server, server.manager_dn, server.manager_password)
    assert conn.bind()
    assert conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=list(attributes))
    attrs = dict(conn.response[0]["attributes"])
    conn.unbind()
    return attrs


def as_account(server: LdapServer, dn: str, password: str) -> LdapDirectory:
    settings = LdapSettings(url=server.url, base_dn=server.base_dn, bind_dn=dn)
    return LdapDirectory(settings, password)


def test_user_round_trips_with_every_attribute(
    directory: LdapDirectory, ldap_server: LdapServer
) -> None:
    awkward = 'Zoë O\'Brien, Jr. = "A+B" <x> #1; back\\slash'
    name = unique("u")
    uid = next_id(directory)
    directory.create_user(spec(name, full_name=awkward), uid)

    user = directory.get_user(name)
    assert user is not None
    assert (user.username, user.full_name, user.email, user.team) == (
        name,
        awkward,
        f"{name}@ex.com",
        "growth",
    )
    assert (user.uid_number, user.gid_number, user.locked, user.groups) == (
        uid,
        uid,
        False,
        frozenset(),
    )
    entry = raw(ldap_server, user_dn(ldap_server, name), "*")
    assert entry["homeDirectory"] == [f"/efs/home/{name}"]
    assert entry["loginShell"] == ["/bin/bash"]
    assert entry["givenName"] == ["Zoë"] and entry["displayName"] == [awkward]
    assert "mlplatformTotpUser" not in entry["objectClass"]
    assert {uid} <= directory.used_ids()


def test_update_changes_name_mail_and_team_and_list_shows_it(directory: LdapDirectory) -> None:
    name = created(directory)
    directory.update_user(spec(name, full_name="Grace Hopper", email="g@ex.org", team="risk"))
    listed = {u.username: u for u in directory.list_users()}
    assert (listed[name].full_name, listed[name].email, listed[name].team) == (
        "Grace Hopper",
        "g@ex.org",
        "risk",
    )


def test_creating_an_existing_user_is_one_line_naming_the_dn(
    directory: LdapDirectory, ldap_server: LdapServer
) -> None:
    name = created(directory)
    with pytest.raises(PlatformError) as caught:
        directory.create_user(spec(name), next_id(directory))
    assert user_dn(ldap_server, name) in caught.value.headline
    assert "entryAlreadyExists" in caught.value.headline
    assert "\n" not in str(caught.value)


def test_lock_sets_and_unlock_removes_the_lock_attribute(
    directory: LdapDirectory, ldap_server: LdapServer
) -> None:
    name = created(directory)
    directory.set_locked(name, True)
    assert raw(ldap_server, user_dn(ldap_server, name), "nsAccountLock")["nsAccountLock"] == [
        "TRUE"
    ]
    assert fetched(directory, name).locked
    directory.set_locked(name, False)
    directory.set_locked(name, False)  # unlocking twice is fine
    assert raw(ldap_server, user_dn(ldap_server, name), "nsAccountLock")["nsAccountLock"] == []
    assert not fetched(directory, name).locked


def test_password_lets_the_user_bind_and_is_stored_hashed_and_never_logged(
    directory: LdapDirectory,
    ldap_server: LdapServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = created(directory)
    password = "Tr0ub4dor&3-" + uuid.uuid4().hex
    with caplog.at_level(logging.DEBUG):
        directory.set_password(name, password)
    dn = user_dn(ldap_server, name)
    assert bind(ldap_server, dn, password).bind()
    assert not bind(ldap_server, dn, password + "x").bind()
    stored = raw(ldap_server, dn, "userPassword")["userPassword"][0]
    assert password not in str(stored) and str(stored).startswith("{")  # {SSHA}...
    out = capsys.readouterr()
    assert password not in caplog.text + out.out + out.err
    with pytest.raises(PlatformError, match="empty password"):
        directory.set_password(name, "")


def test_groups_keep_their_members_through_adding_and_removing_the_last(
    directory: LdapDirectory, ldap_server: LdapServer
) -> None:
    group = unique("g")
    gid = next_id(directory)
    assert not directory.group_exists(group)
    directory.create_group(group, gid)
    assert directory.group_exists(group) and gid in directory.used_ids()
    alice, bob = created(directory, "alice"), created(directory, "bob")

    directory.add_member(group, alice)
    directory.add_member(group, alice)  # twice is fine
    directory.add_member(group, bob)
    assert fetched(directory, alice).groups == {group}
    group_dn = f"cn={group},cn=groups,cn=accounts,{ldap_server.base_dn}"
    members = raw(ldap_server, group_dn, "member")["member"]
    assert sorted(members) == sorted([user_dn(ldap_server, alice), user_dn(ldap_server, bob)])

    directory.remove_member(group, bob)
    directory.remove_member(group, alice)  # the last one
    directory.remove_member(group, alice)  # no longer a member: nothing to do
    assert directory.group_exists(group)
    assert raw(ldap_server, group_dn, "member")["member"] == [PLACEHOLDER_MEMBER]
    listed = {u.username: u for u in directory.list_users()}
    assert listed[alice].groups == frozenset() and listed[bob].groups == frozenset()

    directory.add_member(group, bob)  # the placeholder makes way again
    assert raw(ldap_server, group_dn, "member")["member"] == [user_dn(ldap_server, bob)]
    assert {u.username: u for u in directory.list_users()}[bob].groups == {group}


def test_membership_needs_an_existing_group_and_user(directory: LdapDirectory) -> None:
    name = created(directory)
    with pytest.raises(PlatformError, match="no group"):
        directory.add_member(unique("nogroup"), name)
    group = unique("g")
    directory.create_group(group, next_id(directory))
    with pytest.raises(PlatformError, match="no user"):
        directory.add_member(group, unique("nobody"))


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """(filter, entries the server returned) for every search ldap3 sends."""
    seen: list[tuple[str, int]] = []
    original = ldap3.Connection.search

    def spy(self: ldap3.Connection, base: str, query: str, *args: Any, **kwargs: Any) -> Any:
        result = original(self, base, query, *args, **kwargs)
        seen.append((query, sum(1 for e in self.response if e["type"] == "searchResEntry")))
        return result

    monkeypatch.setattr(ldap3.Connection, "search", spy)
    yield seen


def test_filter_metacharacters_match_nothing(
    directory: LdapDirectory, searches: list[tuple[str, int]]
) -> None:
    created(directory)
    created(directory)
    searches.clear()
    for probe in ["*)(uid=*", "*", "*)(|(uid=*"]:
        assert directory.get_user(probe) is None
        assert directory.get_attribute(probe, "uid") is None
    assert searches and all(count == 0 for _, count in searches), searches


def test_look_alike_names_do_not_find_the_real_user(
    directory: LdapDirectory, searches: list[tuple[str, int]]
) -> None:
    name = created(directory, "admin")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in name)
    searches.clear()
    for look_alike in [full_width, name.upper(), "\u0430" + name[1:]]:
        assert directory.get_user(look_alike) is None
    # The server itself folds full-width and upper case onto `name`: only the exact compare stops it.
    assert [count for _, count in searches] == [1, 1, 0]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_refused_before_any_ldap_call(name: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="not a valid username"):
        spec(name)
    dead = LdapDirectory(LdapSettings(url=f"ldap://127.0.0.1:{free_port()}"), None)
    calls = [
        lambda: dead.set_locked(name, True),
        lambda: dead.set_password(name, "pw"),
        lambda: dead.set_attribute(name, TOTP, "X"),
        lambda: dead.add_member("ml-platform-users", name),
        lambda: dead.remove_member("ml-platform-users", name),
        lambda: dead.create_group(name, 12345),
    ]
    for call in calls:  # an LDAP call would fail with "cannot reach" instead
        with pytest.raises(InvalidNameError):
            call()


def test_an_unreachable_server_is_one_line_naming_it() -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    dead = LdapDirectory(LdapSettings(url=url, timeout_seconds=2), None)
    with pytest.raises(PlatformError) as caught:
        dead.list_users()
    assert caught.value.headline.startswith(f"cannot reach LDAP server {url}: ")
    assert "ldap.url" in caught.value.hint
    assert "\n" not in str(caught.value)


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An ldaps:// URL whose server completes a TLS handshake with a self-signed certificate
    for 127.0.0.1, then hangs up; and that certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"ldaps://127.0.0.1:{listener.getsockname()[1]}", cert
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_ldaps_verifies_the_server_certificate_against_the_ca_file(
    tls_listener: tuple[str, Path],
) -> None:
    url, cert = tls_listener
    with pytest.raises(PlatformError) as untrusted:
        LdapDirectory(LdapSettings(url=url), None).list_users()
    assert untrusted.value.headline.startswith(f"cannot reach LDAP server {url}: ")
    assert "certificate verify failed" in untrusted.value.headline.lower()

    trusted = LdapDirectory(LdapSettings(url=url, ca_cert_file=str(cert)), None)
    with pytest.raises(PlatformError) as hung_up:  # past TLS: the server is no LDAP server
        trusted.list_users()
    assert "certificate" not in hung_up.value.headline.lower()

    missing = LdapDirectory(LdapSettings(url=url, ca_cert_file=str(cert) + ".missing"), None)
    with pytest.raises(PlatformError, match=r"ldap\.ca_cert_file"):
        missing.list_users()


def test_a_wrong_dn_layout_is_an_error_not_an_empty_directory(ldap_server: LdapServer) -> None:
    settings = LdapSettings(
        url=ldap_server.url, base_dn="dc=elsewhere,dc=local", bind_dn=ldap_server.manager_dn
    )
    wrong = LdapDirectory(settings, ldap_server.manager_password)
    with pytest.raises(PlatformError) as caught:
        wrong.list_users()
    assert "cn=users,cn=accounts,dc=elsewhere,dc=local" in caught.value.headline
    assert "noSuchObject" in caught.value.headline and "ldap.base_dn" in caught.value.hint


def test_a_missing_bind_password_is_asked_for_at_the_first_call(
    ldap_server: LdapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in ldap_env(ldap_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLPLATFORM_LDAP_BIND_PASSWORD")
    get_settings.cache_clear()
    directory = LdapDirectory.from_settings(get_settings())  # nothing read or sent yet
    with pytest.raises(PlatformError, match="MLPLATFORM_LDAP_BIND_PASSWORD is not set"):
        directory.list_users()


def test_a_wrong_bind_password_names_the_account_not_the_password(
    ldap_server: LdapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-" + uuid.uuid4().hex
    for key, value in ldap_env(ldap_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLPLATFORM_LDAP_BIND_PASSWORD", wrong)
    get_settings.cache_clear()
    with pytest.raises(PlatformError) as caught:
        LdapDirectory.from_settings(get_settings()).get_user("anyone")
    message = str(caught.value)
    assert ldap_server.manager_dn in message and "invalidCredentials" in message
    assert "MLPLATFORM_LDAP_BIND_PASSWORD" in message
    assert wrong not in message and "\n" not in message


def test_totp_secret_is_readable_by_manager_and_hub_but_not_by_the_user(
    directory: LdapDirectory, ldap_server: LdapServer
) -> None:
    name = created(directory)
    secret = "JBSWY3DPEHPK3PXP"
    directory.set_attribute(name, TOTP, secret, object_class="mlplatformTotpUser")
    directory.set_attribute(name, TOTP, secret, object_class="mlplatformTotpUser")  # idempotent
    assert directory.get_attribute(name, TOTP) == secret
    assert (
        "mlplatformTotpUser"
        in raw(ldap_server, user_dn(ldap_server, name), "objectClass")["objectClass"]
    )

    hub = as_account(ldap_server, ldap_server.hub_dn, ldap_server.hub_password)
    assert hub.get_attribute(name, TOTP) == secret
    directory.set_password(name, "user-pw-123")
    itself = as_account(ldap_server, user_dn(ldap_server, name), "user-pw-123")
    assert itself.get_attribute(name, "mail") == f"{name}@ex.com"  # the lookup works...
    assert itself.get_attribute(name, TOTP) is None  # ...the ACL hides the secret

    directory.set_attribute(name, TOTP, None)
    assert directory.get_attribute(name, TOTP) is None
    with pytest.raises(PlatformError, match="no user"):
        directory.set_attribute(unique("nobody"), TOTP, secret)
