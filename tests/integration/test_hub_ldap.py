"""The hub's LDAP side against the real slapd, in-process: the LDAP secret store, lookup_dn,
and FreeIPA's password+code convention (the full hub is in test_jupyterhub.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
import yaml
from traitlets.config import Config

from mlplatform.errors import PlatformError
from mlplatform.hub import LdapSecretStore, configure, new_secret
from mlplatform.hub.authenticator import PlatformLDAPAuthenticator
from tests.servers.jupyterhub import USERS_OU, add_group, add_user, set_locked
from tests.servers.slapd import LdapServer

pytestmark = pytest.mark.slow

TEMPLATE = f"uid={{username}},{USERS_OU}"
PASSWORD = "ldp-Pw-5521"
IPA_CODE = "918273"


@pytest.fixture(scope="module")
def directory(ldap_server: LdapServer) -> str:
    for name in ("ldp-ana", "ldp-ben", "ldp-cid", "ldp-ipa"):
        add_user(ldap_server, name, PASSWORD + IPA_CODE if name == "ldp-ipa" else PASSWORD)
    return add_group(ldap_server, "ldp-users", ["ldp-ana", "ldp-ben", "ldp-ipa"], gid=30002)


def store(server: LdapServer, bind_dn: str, password: str) -> LdapSecretStore:
    return LdapSecretStore(server.url, bind_dn, password, TEMPLATE)


def test_secret_written_by_the_manager_is_readable_by_the_hub_only(
    ldap_server: LdapServer, directory: str
) -> None:
    secret = new_secret()
    store(ldap_server, ldap_server.manager_dn, ldap_server.manager_password).put("ldp-ana", secret)
    assert store(ldap_server, ldap_server.hub_dn, ldap_server.hub_password).get("ldp-ana") == secret
    user_dn = TEMPLATE.format(username="ldp-ana")
    assert store(ldap_server, user_dn, PASSWORD).get("ldp-ana") is None  # not even the user
    with pytest.raises(PlatformError, match="cannot store the TOTP secret"):
        store(ldap_server, ldap_server.hub_dn, ldap_server.hub_password).put("ldp-ana", secret)
    store(ldap_server, ldap_server.manager_dn, ldap_server.manager_password).delete("ldp-ana")
    assert store(ldap_server, ldap_server.hub_dn, ldap_server.hub_password).get("ldp-ana") is None


def test_secret_store_errors_say_what_is_wrong(ldap_server: LdapServer, directory: str) -> None:
    hub = store(ldap_server, ldap_server.hub_dn, ldap_server.hub_password)
    assert hub.get("ldp-nobody") is None
    with pytest.raises(PlatformError, match="create the user first"):
        store(ldap_server, ldap_server.manager_dn, ldap_server.manager_password).put(
            "ldp-nobody", new_secret()
        )
    with pytest.raises(PlatformError, match="cannot bind"):
        store(ldap_server, ldap_server.hub_dn, "wrong").get("ldp-ana")
    with pytest.raises(PlatformError, match="no password"):
        store(ldap_server, ldap_server.hub_dn, "").get("ldp-ana")


def authenticator(
    tmp_path: Path,
    server: LdapServer,
    group_dn: str,
    monkeypatch: pytest.MonkeyPatch,
    search_password: str | None = None,
    **sections: dict[str, Any],
) -> PlatformLDAPAuthenticator:
    ldap = {
        "server_address": "127.0.0.1",
        "server_port": server.port,
        "tls": "insecure",
        "allowed_groups": [group_dn],
        "search_bind_dn": server.hub_dn,
    } | sections.pop("ldap", {})
    path = tmp_path / "jupyterhub.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "ldap": ldap, **sections}))
    monkeypatch.setenv("MLPLATFORM_HUB_LDAP_PASSWORD", search_password or server.hub_password)
    monkeypatch.setenv("MLPLATFORM_JUPYTERHUB_TOKEN", "t" * 32)
    c = Config()
    configure(c, path)
    return PlatformLDAPAuthenticator(config=c)


def log_in(auth: PlatformLDAPAuthenticator, name: str, password: str, otp: str) -> str | None:
    data = {"username": name, "password": password, "otp": otp}
    result = asyncio.run(auth.get_authenticated_user(None, data))
    return result["name"] if result else None


def test_freeipa_mode_sends_password_and_code_in_one_bind(
    tmp_path: Path, ldap_server: LdapServer, directory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FreeIPA accepts a bind whose password is <password><code>; slapd plays it with a
    # userPassword that is exactly that string.
    auth = authenticator(tmp_path, ldap_server, directory, monkeypatch, mfa={"mode": "freeipa"})
    assert auth.request_otp
    assert log_in(auth, "ldp-ipa", PASSWORD, IPA_CODE) == "ldp-ipa"
    assert log_in(auth, "ldp-ipa", PASSWORD, "000000") is None
    assert log_in(auth, "ldp-ipa", PASSWORD, "") is None
    assert log_in(auth, "ldp-ipa", "", PASSWORD + IPA_CODE) is None


def test_totp_from_the_ldap_store_with_lookup_dn(
    tmp_path: Path, ldap_server: LdapServer, directory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = new_secret()
    manager = store(ldap_server, ldap_server.manager_dn, ldap_server.manager_password)
    manager.put("ldp-ben", secret)
    auth = authenticator(
        tmp_path,
        ldap_server,
        directory,
        monkeypatch,
        ldap={"lookup_dn": True, "user_search_base": USERS_OU},
        mfa={"mode": "totp", "store": "ldap"},
    )
    totp = pyotp.TOTP(secret)
    assert log_in(auth, "ldp-ben", PASSWORD, totp.at(0)) is None  # a code from 1970
    assert log_in(auth, "ldp-ben", PASSWORD, totp.now()) == "ldp-ben"
    set_locked(ldap_server, "ldp-ben")
    # The next step's code is valid and unused: only the lock refuses it.
    assert log_in(auth, "ldp-ben", PASSWORD, totp.at(time.time(), counter_offset=1)) is None


def test_users_the_hub_cannot_see_are_refused(
    tmp_path: Path, ldap_server: LdapServer, directory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = authenticator(tmp_path, ldap_server, directory, monkeypatch, mfa={"mode": "none"})
    assert not auth.request_otp
    assert log_in(auth, "ldp-cid", PASSWORD, "") is None  # not in ldp-users
    assert log_in(auth, "ldp-ana", PASSWORD, "") == "ldp-ana"
    blind = authenticator(
        tmp_path, ldap_server, directory, monkeypatch, search_password="wrong", mfa={"mode": "none"}
    )
    assert log_in(blind, "ldp-ana", PASSWORD, "") is None  # cannot check the lock: fail closed
