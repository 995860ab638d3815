"""TOTP enrolment: a new secret in the configured store, or a FreeIPA OTP token.

On a plain LDAP site the secret goes to an LDAP attribute only the hub's bind account can
read, or to a hub-owned file with mode 0600; the hub's authenticator checks codes against it.
On a FreeIPA site the server keeps the token and checks password+code itself at login.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mlplatform.errors import PlatformError
from mlplatform.secrets import read_secret
from mlplatform.settings import Settings
from mlplatform.users.directory import Directory
from mlplatform.users.names import validate_username

if TYPE_CHECKING:
    from mlplatform.hub import totp


def enroll(settings: Settings, directory: Directory, username: str) -> str:
    """Create (or replace) the user's TOTP secret; returns the otpauth:// URI to scan."""
    from mlplatform.hub import totp

    validate_username(username)
    if directory.get_user(username) is None:
        raise PlatformError(
            f"no user {username!r} in {directory.describe()}",
            "onboard them first with `mlplatform users add`",
        )
    enroll_remote = getattr(directory, "enroll_totp", None)
    if settings.users.backend == "freeipa" and enroll_remote is not None:
        return str(enroll_remote(username, settings.users.mfa_issuer))
    secret = totp.new_secret()
    secret_store(settings).put(username, secret)
    return totp.provisioning_uri(secret, username, settings.users.mfa_issuer)


def secret_store(settings: Settings) -> totp.TotpSecretStore:
    from pathlib import Path

    from mlplatform.hub import totp

    if settings.users.mfa_store == "file":
        return totp.FileSecretStore(Path(settings.users.mfa_file))
    ldap = settings.ldap
    if not ldap.url or not ldap.bind_dn:
        raise PlatformError(
            "users.mfa_store is ldap but ldap.url or ldap.bind_dn is not set",
            "set them in the profile, or use users.mfa_store: file",
        )
    password = read_secret(
        "LDAP bind password",
        ldap.bind_password_env,
        ldap.bind_password_secret,
        "ldap.bind_password_secret",
    )
    return totp.LdapSecretStore(
        ldap.url,
        ldap.bind_dn,
        password,
        f"uid={{username}},{ldap.users_rdn},{ldap.base_dn}",
        settings.users.mfa_attribute,
        ca_cert_file=ldap.ca_cert_file,
        timeout=max(1, math.ceil(ldap.timeout_seconds)),  # ldap3 wants whole seconds
    )
