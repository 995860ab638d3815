"""TOTP second factor (RFC 6238): secrets, codes, and the two places a secret can live.

A secret is readable by the hub and by whoever enrols users, nobody else: either a JSON file
the hub owns (mode 0600, refused when anyone else could read it) or a user attribute that the
directory's ACL shows only to the hub's bind account. Nothing here logs a secret or a code.
"""

from __future__ import annotations

import binascii
import contextlib
import fcntl
import hmac
import json
import os
import re
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyotp

from mlplatform.errors import PlatformError
from mlplatform.users.names import validate_username

VALID_WINDOW = 1  # one 30 s step either side: clock drift and a slow typist, no more
_CODE = re.compile(r"[0-9]{6}")
_SECRET = re.compile(r"[A-Z2-7]{16,128}")  # base32, at least 80 bits (RFC 4226 asks 128+)
MAX_FILE_BYTES = 4_000_000


def new_secret() -> str:
    """A fresh 160-bit base32 secret (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str, issuer: str = "mlplatform") -> str:
    """The `otpauth://` URI an authenticator app scans as a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step `code` belongs to (within VALID_WINDOW of `at`), or None.

    Every candidate is compared, match or not, so the time taken says nothing about which
    digits were right. Callers keep the step to refuse a code that is replayed.
    """
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    try:
        totp = pyotp.TOTP(secret)
        now = totp.timecode(time.time() if at is None else at)
        candidates = [(now + o, totp.generate_otp(now + o)) for o in range(-VALID_WINDOW, 2)]
    except (binascii.Error, ValueError):  # a corrupt stored secret never matches
        return None
    found = None
    for step, expected in candidates:
        if hmac.compare_digest(expected.encode(), code.encode()):
            found = step
    return found


def verify(secret: str, code: str, at: float | None = None) -> bool:
    """Whether `code` is the secret's code now, one step before or one after."""
    return matching_step(secret, code, at) is not None


def check_secret(secret: str) -> str:
    if not _SECRET.fullmatch(secret):
        raise PlatformError(
            "not a TOTP secret (base32, 16-128 characters A-Z and 2-7)",
            "create one with mlplatform.hub.totp.new_secret()",
        )
    return secret


class TotpSecretStore(Protocol):
    """Where enrolled secrets live; `get` answers None for a user who has not enrolled."""

    def get(self, username: str) -> str | None: ...

    def put(self, username: str, secret: str) -> None: ...

    def delete(self, username: str) -> None: ...


class FileSecretStore:
    """`{username: secret}` in a JSON file only its owner can read."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def get(self, username: str) -> str | None:
        return self._read().get(validate_username(username))

    def put(self, username: str, secret: str) -> None:
        name, secret = validate_username(username), check_secret(secret)
        with self._exclusive():
            secrets = self._read()
            secrets[name] = secret
            self._write(secrets)

    def delete(self, username: str) -> None:
        name = validate_username(username)
        with self._exclusive():
            secrets = self._read()
            if secrets.pop(name, None) is not None:
                self._write(secrets)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        # Two enrolments at once must not drop one another's secret (read-modify-write).
        # The folder is locked rather than a lock file, so nothing is left beside the secrets.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, str]:
        try:
            # O_NOFOLLOW: a symlink planted here must not make the hub read another file.
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise PlatformError(
                f"{self.path}: cannot open the TOTP secrets file ({exc.strerror})",
                "it must be a regular file (not a symlink) the hub's account can read",
            ) from None
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_mode & 0o077:
                raise PlatformError(
                    f"{self.path}: TOTP secrets file is readable by group or others",
                    f"chmod 600 {self.path}, then re-enrol everyone in it (the secrets leaked)",
                )
            raw = handle.read(MAX_FILE_BYTES + 1)
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            ):
                raise ValueError
        except ValueError:
            raise PlatformError(
                f"{self.path}: not a JSON object of username: secret",
                "restore it from backup, or move it aside and re-enrol users",
            ) from None
        return data

    def _write(self, secrets: dict[str, str]) -> None:
        # mkstemp creates the file 0600, so the secrets are never readable by others, even
        # for a moment; the rename makes a reader see the old file or the new one, whole.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(secrets, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


@dataclass
class LdapSecretStore:
    """A user attribute (`mlplatformTotpSecret`) that the directory shows to the hub only."""

    server_url: str
    bind_dn: str
    password: str = field(repr=False)
    user_dn_template: str
    attribute: str = "mlplatformTotpSecret"
    object_class: str = "mlplatformTotpUser"
    _: KW_ONLY
    start_tls: bool = False
    ca_cert_file: str | None = None
    timeout: int = 5

    def get(self, username: str) -> str | None:
        values = self._entry(username, required=False).get(self.attribute.lower(), [])
        return str(values[0]) if values else None

    def put(self, username: str, secret: str) -> None:
        import ldap3

        entry = self._entry(username, required=True)
        changes: dict[str, list[tuple[str, list[str]]]] = {
            self.attribute: [(ldap3.MODIFY_REPLACE, [check_secret(secret)])]
        }
        classes = {str(c).lower() for c in entry.get("objectclass", [])}
        if self.object_class.lower() not in classes:
            changes["objectClass"] = [(ldap3.MODIFY_ADD, [self.object_class])]
        self._modify(username, changes)

    def delete(self, username: str) -> None:
        import ldap3

        if self.get(username) is not None:
            self._modify(username, {self.attribute: [(ldap3.MODIFY_DELETE, [])]})

    def user_dn(self, username: str) -> str:
        from ldap3.utils.dn import escape_rdn

        return self.user_dn_template.format(username=escape_rdn(validate_username(username)))

    def _entry(self, username: str, *, required: bool) -> dict[str, list[object]]:
        import ldap3

        dn = self.user_dn(username)
        with self._connection() as conn:
            wanted = [self.attribute, "objectClass"]
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=wanted)
            if not conn.entries:
                if required or conn.result.get("result") not in (0, 32):  # 32: noSuchObject
                    raise PlatformError(
                        f"cannot read {dn} ({conn.result.get('description')})",
                        "create the user first, and check the bind account's read access",
                    )
                return {}
            attrs = conn.entries[0].entry_attributes_as_dict
        return {name.lower(): list(values) for name, values in attrs.items()}

    def _modify(self, username: str, changes: dict[str, list[tuple[str, list[str]]]]) -> None:
        with self._connection() as conn:
            if not conn.modify(self.user_dn(username), changes):
                raise PlatformError(
                    f"cannot store the TOTP secret of {username} "
                    f"({conn.result.get('description')})",
                    f"bind as an account allowed to write {self.attribute}",
                )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        # Not ldap3's own `with conn:`, which leaves an auto-bound connection open.
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.unbind()

    def _connect(self) -> Any:
        import ldap3
        from ldap3.core.exceptions import LDAPBindError, LDAPException

        if not self.password:  # an empty password is an anonymous bind, which LDAP accepts
            raise PlatformError(
                f"no password for {self.bind_dn}", "set the bind password's environment variable"
            )
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_cert_file)
        server = ldap3.Server(self.server_url, tls=tls, connect_timeout=self.timeout)
        auto_bind = ldap3.AUTO_BIND_TLS_BEFORE_BIND if self.start_tls else ldap3.AUTO_BIND_NO_TLS
        try:
            return ldap3.Connection(
                server,
                user=self.bind_dn,
                password=self.password,
                auto_bind=auto_bind,
                receive_timeout=self.timeout,
            )
        except LDAPBindError:
            raise PlatformError(
                f"{self.server_url}: cannot bind as {self.bind_dn}",
                "check the bind DN and the password in its environment variable",
            ) from None
        except LDAPException as exc:
            raise PlatformError(
                f"{self.server_url}: LDAP server unreachable ({type(exc).__name__})",
                "check the URL, the network path and the CA bundle",
            ) from None
