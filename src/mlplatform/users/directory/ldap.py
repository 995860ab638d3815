"""Users and groups in a plain LDAP directory (OpenLDAP, 389-DS, FreeIPA's LDAP), via ldap3.

The DN layout is FreeIPA's by default and comes from `LdapSettings`. Every value put into a DN
goes through `escape_rdn` and every filter value through `escape_filter_chars`, although names
are validated: validation is not escaping. The read methods accept untrusted names (the hub
looks up whatever was typed at login) and compare the uid the server returns exactly, because
LDAP matching folds case and applies NFKC: on OpenLDAP a full-width `admin` finds `admin`.

Empty groups: OpenLDAP's `groupOfNames` MUST have a `member` (389-DS, hence FreeIPA, made it
MAY). When the server refuses a group without members, the group holds the empty DN `""` as a
placeholder member: it names no entry, so it grants nothing and is never reported as a user.
Adding a member drops the placeholder; removing the last member puts it back.

One object keeps one connection, opened on first use; it is not thread-safe.
"""

from __future__ import annotations

import ast
import contextlib
import math
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ldap3
from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, NONE, SUBTREE
from ldap3.core.exceptions import LDAPCommunicationError, LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn

from mlplatform.errors import PlatformError
from mlplatform.secrets import read_secret
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.names import validate_group, validate_username

if TYPE_CHECKING:
    from mlplatform.settings import LdapSettings, Settings

PLACEHOLDER_MEMBER = ""
# LDAP result codes this module reacts to.
NO_SUCH_ATTRIBUTE, VALUE_EXISTS, NO_SUCH_OBJECT, CLASS_VIOLATION = 16, 20, 32, 65
_HINTS = {
    NO_SUCH_OBJECT: "create it first, or check ldap.base_dn, ldap.users_rdn, ldap.groups_rdn "
    "and that ldap.bind_dn may read it",
    50: "the bind account lacks the right: check ldap.bind_dn and the directory's ACLs",
    68: "the entry already exists: pick another name or remove the old entry",
}
_PAGED_RESULTS = "1.2.840.113556.1.4.319"
_USER_ATTRIBUTES = ("uid", "cn", "mail", "departmentNumber", "uidNumber", "gidNumber")


class LdapDirectory:
    """The `Directory` protocol over LDAP; uid/gid numbers come from the caller's range."""

    assigns_ids = False

    def __init__(
        self,
        ldap: LdapSettings,
        bind_password: str | Callable[[], str] | None,
        home_root: str = "/data",
    ) -> None:
        """`bind_password` may be a function: it is called at the first bind, not before."""
        if not ldap.url:
            raise PlatformError(
                "no LDAP server: ldap.url is not set",
                "set ldap.url (MLPLATFORM_LDAP__URL), e.g. ldaps://ipa.dataplatform.local:636",
            )
        self._url: str = ldap.url
        self._ldap = ldap
        self._password_source = bind_password
        self._password: str | None = None
        self._home_root = home_root.rstrip("/")
        self._users_base = _join(ldap.users_rdn, ldap.base_dn)
        self._groups_base = _join(ldap.groups_rdn, ldap.base_dn)
        self._conn: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapDirectory:
        ldap = settings.ldap
        where = (ldap.bind_password_env, ldap.bind_password_secret, "ldap.bind_password_secret")

        def password() -> str:  # read at the first bind: a command failing earlier never asks
            return read_secret("LDAP bind password", *where)

        # Without a bind DN the bind is anonymous: enough for reads, where the ACLs allow them.
        return cls(ldap, password if ldap.bind_dn else None, settings.efs.home_root)

    def describe(self) -> str:
        return f"{self._url} ({self._ldap.base_dn})"

    # --- users -------------------------------------------------------------------------------

    def get_user(self, username: str) -> DirectoryUser | None:
        entry = self._find_user(username, [*_USER_ATTRIBUTES, self._ldap.lock_attribute])
        if entry is None:
            return None
        member = escape_filter_chars(entry["dn"])
        groups = self._search(self._groups_base, f"(&(objectClass=groupOfNames)(member={member}))")
        return self._to_user(entry, {_rdn_value(g["dn"]) for g in groups})

    def list_users(self) -> list[DirectoryUser]:
        attributes = [*_USER_ATTRIBUTES, self._ldap.lock_attribute]
        entries = self._search(self._users_base, "(objectClass=posixAccount)", attributes)
        groups_of: dict[str, set[str]] = {}
        for group in self._search(self._groups_base, "(objectClass=groupOfNames)", ["member"]):
            for member in group["attributes"].get("member", []):
                groups_of.setdefault(_norm_dn(member), set()).add(_rdn_value(group["dn"]))
        users = [self._to_user(e, groups_of.get(_norm_dn(e["dn"]), set())) for e in entries]
        return sorted(users, key=lambda user: user.username)

    def used_ids(self) -> set[int]:
        # The whole base, not only our containers: every POSIX entry shares the number space.
        names = ["uidNumber", "gidNumber"]
        found = self._search(self._ldap.base_dn, "(|(uidNumber=*)(gidNumber=*))", names, SUBTREE)
        values = (v for e in found for name in names for v in e["attributes"].get(name, []))
        return {int(v) for v in values if str(v).isdigit()}

    def create_user(self, spec: UserSpec, uid_number: int | None) -> None:
        name = validate_username(spec.username)
        if uid_number is None:
            raise ValueError("an LDAP directory assigns no ids: pass one from users.id_range_*")
        attributes = {
            "uid": name,
            "uidNumber": uid_number,
            "gidNumber": uid_number,  # user-private group, as FreeIPA does
            "homeDirectory": f"{self._home_root}/{name}",
            "loginShell": "/bin/bash",
            **_person_attributes(spec),
        }
        self._add(self._user_dn(name), self._ldap.user_object_classes, attributes)

    def update_user(self, spec: UserSpec) -> None:
        changes = {k: [(MODIFY_REPLACE, [v])] for k, v in _person_attributes(spec).items()}
        self._modify(self._user_dn(validate_username(spec.username)), changes)

    def set_locked(self, username: str, locked: bool) -> None:
        lock = [(MODIFY_REPLACE, ["TRUE"] if locked else [])]
        self._modify(self._user_dn(validate_username(username)), {self._ldap.lock_attribute: lock})

    def set_password(self, username: str, password: str) -> None:
        dn = self._user_dn(validate_username(username))
        if not password:  # ldap3 would ask the server to generate one nobody gets to see
            raise PlatformError(f"refusing an empty password for {username}", "generate one")

        # The password-modify extended operation lets the server hash it its own way.
        def call(conn: Any) -> object:
            return conn.extend.standard.modify_password(dn, new_password=password)

        self._run("set the password of", dn, call, secret=password)

    # --- groups ------------------------------------------------------------------------------

    def group_exists(self, group: str) -> bool:
        return self._read(self._group_dn(validate_group(group)), ["cn"]) is not None

    def create_group(self, group: str, gid_number: int | None) -> None:
        dn = self._group_dn(validate_group(group))
        if gid_number is None:
            raise ValueError("an LDAP directory assigns no ids: pass one from users.id_range_*")
        classes = self._ldap.group_object_classes
        attributes: dict[str, Any] = {"cn": group, "gidNumber": gid_number}
        if self._add(dn, classes, attributes, CLASS_VIOLATION) == CLASS_VIOLATION:
            # This schema's groupOfNames MUSTs a member: start with the placeholder.
            self._add(dn, classes, {**attributes, "member": [PLACEHOLDER_MEMBER]})

    def add_member(self, group: str, username: str) -> None:
        user_dn = self._user_dn(validate_username(username))
        dn, members = self._members(group)
        if _norm_dn(user_dn) in {_norm_dn(m) for m in members}:
            return
        if self._read(user_dn, ["uid"]) is None:
            raise PlatformError(f"no user {username} in {self.describe()}", "create it first")
        changes = [(MODIFY_ADD, [user_dn])]
        if PLACEHOLDER_MEMBER in members:
            changes.append((MODIFY_DELETE, [PLACEHOLDER_MEMBER]))
        self._modify(dn, {"member": changes}, VALUE_EXISTS)

    def remove_member(self, group: str, username: str) -> None:
        user_dn = self._user_dn(validate_username(username))
        dn, members = self._members(group)
        stored = [m for m in members if _norm_dn(m) == _norm_dn(user_dn)]
        if not stored:
            return
        changes = [(MODIFY_DELETE, stored)]
        tolerate = (NO_SUCH_ATTRIBUTE, CLASS_VIOLATION)  # 16: someone removed it meanwhile
        if self._modify(dn, {"member": changes}, *tolerate) == CLASS_VIOLATION:
            # It was the last member: the placeholder takes its place in the same operation.
            self._modify(dn, {"member": [*changes, (MODIFY_ADD, [PLACEHOLDER_MEMBER])]})

    # --- single attributes (the TOTP secret) -------------------------------------------------

    def get_attribute(self, username: str, attribute: str) -> str | None:
        """The value; None when the user or the value is absent, or the bind may not read it."""
        entry = self._find_user(username, [attribute])
        values = entry["attributes"].get(attribute, []) if entry else []
        return str(values[0]) if values else None

    def set_attribute(
        self, username: str, attribute: str, value: str | None, object_class: str | None = None
    ) -> None:
        """Replace (None: remove) the value, adding the auxiliary `object_class` if missing."""
        dn = self._user_dn(validate_username(username))
        entry = self._read(dn, ["objectClass"])
        if entry is None:
            raise PlatformError(f"no user {username} in {self.describe()}", "create it first")
        changes: dict[str, Any] = {attribute: [(MODIFY_REPLACE, [] if value is None else [value])]}
        classes = {c.lower() for c in entry["attributes"].get("objectClass", [])}
        if value is not None and object_class and object_class.lower() not in classes:
            changes["objectClass"] = [(MODIFY_ADD, [object_class])]
        self._modify(dn, changes, secret=value)

    # --- plumbing ----------------------------------------------------------------------------

    def _user_dn(self, username: str) -> str:
        return _join(f"uid={escape_rdn(username)}", self._users_base)

    def _group_dn(self, group: str) -> str:
        return _join(f"cn={escape_rdn(group)}", self._groups_base)

    def _find_user(self, username: str, attributes: list[str]) -> dict[str, Any] | None:
        query = f"(uid={escape_filter_chars(username)})"
        found = self._search(self._users_base, query, ["uid", *attributes])
        return next((e for e in found if username in e["attributes"].get("uid", [])), None)

    def _to_user(self, entry: dict[str, Any], groups: set[str]) -> DirectoryUser:
        attrs = entry["attributes"]

        def first(name: str, default: str = "") -> str:
            return str(attrs[name][0]) if attrs.get(name) else default

        return DirectoryUser(
            username=_rdn_value(entry["dn"]),
            full_name=first("cn"),
            email=first("mail"),
            team=first("departmentNumber", "unassigned"),
            uid_number=int(first("uidNumber", "-1")),
            gid_number=int(first("gidNumber", "-1")),
            groups=frozenset(groups),
            locked=first(self._ldap.lock_attribute).upper() == "TRUE",
        )

    def _members(self, group: str) -> tuple[str, list[str]]:
        dn = self._group_dn(validate_group(group))
        entry = self._read(dn, ["member"])
        if entry is None:
            raise PlatformError(f"no group {group} in {self.describe()}", "create it first")
        return dn, [str(m) for m in entry["attributes"].get("member", [])]

    def _read(self, dn: str, attributes: list[str]) -> dict[str, Any] | None:
        found = self._search(dn, "(objectClass=*)", attributes, BASE, missing_ok=True)
        return found[0] if found else None

    def _search(
        self,
        base: str,
        query: str,
        attributes: list[str] | None = None,
        scope: str = LEVEL,
        missing_ok: bool = False,
    ) -> list[dict[str, Any]]:
        """Entries found; a missing `base` is an error (a wrong DN layout) unless `missing_ok`."""
        entries: list[dict[str, Any]] = []
        cookie = None
        tolerate = (NO_SUCH_OBJECT,) if missing_ok else ()
        while True:  # paged: FreeIPA caps an unpaged search at 2000 entries

            def call(conn: Any, cookie: Any = cookie) -> object:
                paging = {"paged_size": 500, "paged_cookie": cookie}
                return conn.search(base, query, scope, attributes=attributes or ["1.1"], **paging)

            if self._run("search", base, call, tolerate) == NO_SUCH_OBJECT:
                return []
            entries += [e for e in self._conn.response if e.get("type") == "searchResEntry"]
            controls = self._conn.result.get("controls") or {}
            cookie = controls.get(_PAGED_RESULTS, {}).get("value", {}).get("cookie")
            if not cookie:
                return entries

    def _add(self, dn: str, classes: list[str], attributes: dict[str, Any], *tolerate: int) -> int:
        return self._run("add", dn, lambda conn: conn.add(dn, list(classes), attributes), tolerate)

    def _modify(
        self, dn: str, changes: dict[str, Any], *tolerate: int, secret: str | None = None
    ) -> int:
        return self._run("modify", dn, lambda conn: conn.modify(dn, changes), tolerate, secret)

    def _run(
        self,
        action: str,
        dn: str,
        call: Callable[[Any], object],
        tolerate: tuple[int, ...] = (),
        secret: str | None = None,
    ) -> int:
        """Run one operation: its result code when 0 or tolerated, else a PlatformError."""
        conn = self._connection()
        try:
            call(conn)
        except LDAPCommunicationError as exc:
            self._conn = None  # reconnect on the next call
            raise self._unreachable(exc) from None
        except LDAPException as exc:
            headline = self._scrub(f"LDAP {action} {dn} failed: {exc}", secret)
            raise PlatformError(headline, "check the ldap settings") from None
        code = int(conn.result.get("result", 0))
        if code == 0 or code in tolerate:
            return code
        detail = conn.result.get("message") or ""
        headline = f"LDAP {action} {dn} failed: {conn.result.get('description')}"
        headline += f" ({detail})" if detail else ""
        hint = _HINTS.get(code, f"see the log of the LDAP server {self._url}")
        raise PlatformError(self._scrub(headline, secret), hint)

    def _connection(self) -> Any:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        ldap, timeout = self._ldap, self._ldap.timeout_seconds
        source = self._password_source
        self._password = source() if callable(source) else source
        try:
            tls = None
            if self._url.lower().startswith("ldaps://"):
                tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ldap.ca_cert_file)
            server = ldap3.Server(
                self._url, use_ssl=tls is not None, tls=tls, get_info=NONE, connect_timeout=timeout
            )
            # ldap3 packs the receive timeout into SO_RCVTIMEO as whole seconds.
            receive = max(1, math.ceil(timeout))
            conn = ldap3.Connection(server, ldap.bind_dn, self._password, receive_timeout=receive)
        except LDAPException as exc:
            headline = self._scrub(f"invalid LDAP settings for {self._url}: {exc}")
            raise PlatformError(headline, "check ldap.url and ldap.ca_cert_file") from None
        try:
            conn.open()
            bound = conn.bind()
        except (LDAPException, OSError) as exc:  # OSError: DNS and socket failures
            raise self._unreachable(exc) from None
        if not bound:
            refusal = conn.result.get("description")
            conn.unbind()
            raise PlatformError(
                f"LDAP server {self._url} refused the bind as {ldap.bind_dn or 'anonymous'}: "
                f"{refusal}",
                "check ldap.bind_dn and the password in "
                f"{ldap.bind_password_secret or ldap.bind_password_env}",
            )
        self._conn = conn
        return conn

    def _unreachable(self, exc: Exception) -> PlatformError:
        reason = str(exc)
        # ldap3 nests the socket error's repr in tuples: `("('socket ssl wrapping error: ...',)",)`.
        with contextlib.suppress(ValueError, SyntaxError, TypeError):
            while reason.startswith("(") and len(nested := ast.literal_eval(reason)) == 1:
                reason = str(nested[0])
        return PlatformError(
            self._scrub(f"cannot reach LDAP server {self._url}: {reason}"),
            "check ldap.url and that the server is up",
        )

    def _scrub(self, text: str, secret: str | None = None) -> str:
        # Belt and braces: no message we build may carry a password or a TOTP secret.
        for value in (self._password, secret):
            if value:
                text = text.replace(value, "***")
        return " ".join(text.split())


def _person_attributes(spec: UserSpec) -> dict[str, str]:
    return {
        "cn": spec.full_name,
        "displayName": spec.full_name,
        "givenName": spec.first_name,
        "sn": spec.last_name,
        "mail": spec.email,
        "departmentNumber": spec.team,
    }


def _join(*parts: str) -> str:
    return ",".join(p for p in parts if p)


def _rdn_value(dn: str) -> str:
    return str(parse_dn(dn)[0][1])


def _norm_dn(dn: str) -> str:
    """Comparable form of a DN: servers keep a member value as it was written."""
    return ",".join(part.strip() for part in dn.lower().split(","))
