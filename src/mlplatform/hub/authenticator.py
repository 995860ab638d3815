"""JupyterHub's LDAP login plus what a plain LDAP server leaves to its client.

- A disabled account (`nsAccountLock: TRUE`) is refused. 389-DS/FreeIPA refuse its bind
  themselves; OpenLDAP does not know the attribute, so the hub reads it with its own account,
  at login and again every `auth_refresh_age` seconds while a session lasts.
- Mode `totp`: the login page gets a code field (JupyterHub 5's `request_otp`) and the code is
  checked against the user's enrolled secret; a code is accepted once (RFC 6238 section 5.2).
- Mode `freeipa`: FreeIPA checks the second factor itself when the code follows the password
  in a single bind, so the code is appended and nothing else is done.

Passwords and codes are never logged; log lines name the user and the reason only.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import escape_rdn
from ldapauthenticator import LDAPAuthenticator
from ldapauthenticator.ldapauthenticator import TlsStrategy
from traitlets import CaselessStrEnum, Unicode, default

from mlplatform.errors import PlatformError
from mlplatform.hub.totp import FileSecretStore, LdapSecretStore, TotpSecretStore, matching_step


class PlatformLDAPAuthenticator(LDAPAuthenticator):
    mfa_mode = CaselessStrEnum(
        ["none", "totp", "freeipa"],
        default_value="totp",
        config=True,
        help="totp: check the code against the enrolled secret; freeipa: send password+code "
        "to FreeIPA in one bind; none: password only.",
    )
    totp_store = CaselessStrEnum(
        ["file", "ldap"], default_value="file", config=True, help="Where TOTP secrets live."
    )
    totp_file = Unicode(
        "/srv/jupyterhub/totp-secrets.json", config=True, help="Secrets file (mode 0600)."
    )
    totp_attribute = Unicode(
        "mlplatformTotpSecret", config=True, help="User attribute holding the TOTP secret."
    )
    user_dn_template = Unicode(
        config=True, help="A user's entry, for lock and secret reads; {username} is filled in."
    )
    lock_attribute = Unicode(
        "nsAccountLock", config=True, help="Attribute that is TRUE on a disabled account."
    )
    search_password_env = Unicode(
        "MLPLATFORM_HUB_LDAP_PASSWORD",
        config=True,
        help="Environment variable holding lookup_dn_search_user's password.",
    )

    @default("user_dn_template")
    def _first_bind_template(self) -> str:
        return str(self.bind_dn_template[0]) if self.bind_dn_template else ""

    @default("lookup_dn_search_password")
    def _password_from_environment(self) -> str | None:
        # Read here, not in the config file, so the password never sits in traitlets config.
        return os.environ.get(self.search_password_env) or None

    @default("request_otp")
    def _otp_field(self) -> bool:
        return bool(self.mfa_mode != "none")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last_step: dict[str, int] = {}

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        username = data.get("username", "")
        code = re.sub(r"\s", "", data.get("otp") or "")
        if self.mfa_mode != "none" and not code:
            self.log.warning("username:%s Login denied: no authenticator code", username)
            return None
        if self.mfa_mode == "freeipa":
            if not (data.get("password") or "").strip():
                return None
            data = {**data, "password": data["password"] + code}
        auth: dict[str, Any] | None = await super().authenticate(handler, data)
        if auth is None:
            return None
        try:
            locked = await asyncio.to_thread(self._is_locked, username)
        except LDAPException as exc:
            self.log.error("username:%s Login denied: lock check failed (%r)", username, exc)
            return None
        if locked:
            self.log.warning("username:%s Login denied: account is disabled", username)
            return None
        if self.mfa_mode == "totp" and not await self._code_accepted(username, code):
            return None
        return auth

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        """False ends the session of a user disabled since login."""
        try:
            locked = await asyncio.to_thread(self._is_locked, user.name)
        except LDAPException as exc:
            # An outage should not log everyone out; a new login is still checked in full.
            self.log.warning("Cannot re-check the lock of %s (%r)", user.name, exc)
            return True
        if locked:
            self.log.warning("User %s is disabled: their session ends", user.name)
        return not locked

    async def _code_accepted(self, username: str, code: str) -> bool:
        try:
            secret = await asyncio.to_thread(self.secret_store().get, username)
        except PlatformError as exc:
            self.log.error("username:%s Login denied: %s", username, exc.one_line())
            return False
        if secret is None:
            self.log.warning("username:%s Login denied: no authenticator enrolled", username)
            return False
        step = matching_step(secret, code)
        if step is None:
            self.log.warning("username:%s Login denied: wrong authenticator code", username)
            return False
        # No await between this check and the update: two logins cannot both use one code.
        if step <= self._last_step.get(username, -1):
            self.log.warning("username:%s Login denied: authenticator code reused", username)
            return False
        self._last_step[username] = step
        return True

    def secret_store(self) -> TotpSecretStore:
        if self.totp_store == "file":
            return FileSecretStore(self.totp_file)
        on_connect = self.tls_strategy == TlsStrategy.on_connect
        return LdapSecretStore(
            f"{'ldaps' if on_connect else 'ldap'}://{self.server_address}:{self.server_port}",
            self.lookup_dn_search_user,
            self.lookup_dn_search_password or "",
            self.user_dn_template,
            self.totp_attribute,
            start_tls=self.tls_strategy == TlsStrategy.before_bind,
            ca_cert_file=self.tls_kwargs.get("ca_certs_file"),
        )

    def _is_locked(self, username: str) -> bool:
        """True when the account is disabled, or when the hub cannot see it (fail closed)."""
        conn = self.get_connection(self.lookup_dn_search_user, self.lookup_dn_search_password)
        if conn is None:
            self.log.error("Cannot bind the hub's account %s", self.lookup_dn_search_user)
            return True
        try:
            if self.lookup_dn:
                dn = self.resolve_username(username)[1]
            else:
                dn = self.user_dn_template.format(username=escape_rdn(username))
            if not dn or not conn.search(
                dn, "(objectClass=*)", ldap3.BASE, attributes=[self.lock_attribute]
            ):
                return True
            attrs = conn.entries[0].entry_attributes_as_dict
            wanted = self.lock_attribute.lower()
            values: list[Any] = next((v for k, v in attrs.items() if k.lower() == wanted), [])
            return any(str(value).strip().lower() == "true" for value in values)
        finally:
            conn.unbind()
