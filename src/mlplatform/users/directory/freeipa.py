"""FreeIPA through its JSON-RPC API (python-freeipa), for sites that must go through IPA.

IPA owns more than its LDAP tree: the DNA plugin assigns uid/gid numbers, `user_disable` also
ends Kerberos logins, and a TOTP token lives in IPA so the KDC checks password and code together.
So this backend calls IPA commands instead of writing 389-DS entries behind IPA's back.

Mapping: team <-> `departmentnumber`, locked <- `nsaccountlock`, groups <- `memberof_group`
(direct memberships, IPA's `ipausers` included). Passwords never reach a log or a message:
python-freeipa logs every call's parameters at DEBUG, so its logger is replaced here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests
from python_freeipa import ClientMeta
from python_freeipa import exceptions as ipa_errors

from mlplatform.errors import PlatformError
from mlplatform.secrets import read_secret
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.names import validate_group, validate_username

if TYPE_CHECKING:
    from mlplatform.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
# ipalib/errors.py codes that mean "nothing to do" for an idempotent caller.
NOT_FOUND, ALREADY_ACTIVE, ALREADY_INACTIVE, EMPTY_MODLIST = 4001, 4009, 4010, 4202
_ALREADY_DONE = {
    "group_add_member": "This entry is already a member",
    "group_remove_member": "This entry is not a member",
}
_HINTS = {
    NOT_FOUND: "check the name: it does not exist in FreeIPA",
    4002: "it already exists in FreeIPA: pick another name or manage the existing entry",
    3009: "fix the value FreeIPA names and run the command again",
}
_REASONS = (
    re.compile(r"certificate verify failed: ([^('\"]+)"),
    re.compile(r"\[Errno -?\d+\] ([^'\")]+)"),
)


class _QuietLog:
    """Stands in for python-freeipa's logger, whose DEBUG lines carry `userpassword`."""

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass

    def info(self, message: str, *args: Any) -> None:
        log.debug(message, *args)

    def warning(self, message: str, *args: Any) -> None:
        log.warning(message, *args)


class _TimeoutSession(requests.Session):
    """python-freeipa sets no timeout: a silent server would hang onboarding for ever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class _Client(ClientMeta):
    def __init__(self, host: str, verify_ssl: bool | str, timeout: float) -> None:
        super().__init__(host=host, verify_ssl=verify_ssl, dns_discovery=False)
        self._session = _TimeoutSession(timeout)

    @property
    def log(self) -> _QuietLog:
        return _QuietLog()


class FreeIpaDirectory:
    """The `Directory` interface over FreeIPA's JSON-RPC API; logs in on first use, once."""

    assigns_ids = True

    def __init__(
        self,
        url: str,
        username: str,
        password: str | Callable[[], str],
        *,
        verify_ssl: bool | str = True,
        password_source: str = "the password",
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.scheme != "https" or not parts.hostname or parts.username:
            raise PlatformError(
                f"freeipa.url {url!r} is not an https:// URL or a host name",
                "FreeIPA's API is HTTPS only: set freeipa.url to https://<ipa host>",
            )
        self.url = f"https://{parts.netloc}"
        self.username = username
        self._host = parts.netloc
        self._password = password
        self._password_source = password_source
        self._verify_ssl = verify_ssl
        self._timeout = timeout
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FreeIpaDirectory:
        ipa = settings.freeipa
        if not ipa.url:
            raise PlatformError(
                "freeipa.url is not set and users.backend is freeipa",
                "set freeipa.url (e.g. https://ipa.dataplatform.local) or MLPLATFORM_FREEIPA__URL",
            )

        def password() -> str:  # read at login, so a command that fails earlier never asks
            return read_secret(
                "FreeIPA password", ipa.password_env, ipa.password_secret, "freeipa.password_secret"
            )

        where = f"secret {ipa.password_secret}" if ipa.password_secret else f"${ipa.password_env}"
        source = f"the password in {where}"
        return cls(
            ipa.url, ipa.username, password, verify_ssl=ipa.verify_ssl, password_source=source
        )

    def describe(self) -> str:
        return f"{self.url} (FreeIPA JSON-RPC as {self.username})"

    # --- users ---------------------------------------------------------------------------

    def get_user(self, username: str) -> DirectoryUser | None:
        validate_username(username)
        answer = self._call("user_show", username, o_no_members=False, tolerate={NOT_FOUND})
        return None if answer is None else _to_user(answer["result"])

    def list_users(self) -> list[DirectoryUser]:
        answer = self._must("user_find", o_sizelimit=0, o_no_members=False)
        if answer.get("truncated"):
            raise PlatformError(
                f"FreeIPA at {self.url} returned only part of the user list",
                f"let '{self.username}' search without a size limit (ipa config-mod "
                "--searchrecordslimit=-1) and run the command again",
            )
        return [_to_user(entry) for entry in answer["result"]]

    def used_ids(self) -> set[int]:
        users = self._must("user_find", o_sizelimit=0, o_no_members=True)["result"]
        groups = self._must("group_find", o_sizelimit=0, o_no_members=True)["result"]
        numbers = [n for e in users for n in e.get("uidnumber", []) + e.get("gidnumber", [])]
        return {int(n) for n in numbers + [n for e in groups for n in e.get("gidnumber", [])]}

    def create_user(self, spec: UserSpec, uid_number: int | None) -> None:
        """Create the user; IPA's DNA plugin picks uid and gid (the same number) when None.

        With a number given, gid is passed too: IPA would otherwise give the user's private
        group the next DNA number, not the uid.
        """
        username = validate_username(spec.username)
        numbers = {"o_uidnumber": uid_number, "o_gidnumber": uid_number}
        self._must("user_add", username, **numbers, **_person(spec))

    def update_user(self, spec: UserSpec) -> None:
        username = validate_username(spec.username)
        self._call("user_mod", username, tolerate={EMPTY_MODLIST}, **_person(spec))

    def set_locked(self, username: str, locked: bool) -> None:
        validate_username(username)
        command = "user_disable" if locked else "user_enable"
        self._call(command, username, tolerate={ALREADY_INACTIVE, ALREADY_ACTIVE})

    def set_password(self, username: str, password: str) -> None:
        """Set an initial password. IPA expires every password an administrator sets: the
        user must choose a new one at first login (kinit, the web UI or the hub's login)."""
        validate_username(username)
        if not password:
            raise PlatformError(f"refusing an empty password for {username}", "generate one")
        self._must("user_mod", username, o_userpassword=password, secret=password)

    def enroll_totp(self, username: str, issuer: str) -> str:
        """A new TOTP token owned by `username`; returns its otpauth:// URI to show once.

        IPA keeps the secret and checks "password followed by code" itself at login, so
        nothing is stored here. Order matters: the user's auth type becomes `otp` (password
        alone refused) only once the token exists, and their older tokens (a lost phone) are
        deleted last. The URI keeps IPA's secret and parameters; its label and issuer become
        `issuer:username`, so authenticator apps show the same name as in LDAP mode.
        """
        validate_username(username)
        old = self._must("otptoken_find", o_ipatokenowner=username, o_sizelimit=0)["result"]
        token = self._must(
            "otptoken_add", o_ipatokenowner=username, o_type="totp", o_description=issuer
        )["result"]
        uri = token.get("uri")
        if not isinstance(uri, str) or not uri.startswith("otpauth://totp/"):
            raise PlatformError(
                f"FreeIPA at {self.url} created a token for '{username}' but sent no TOTP URI",
                "show it with `ipa otptoken-show --all`, or upgrade FreeIPA to 4.x",
            )
        self._call("user_mod", username, o_ipauserauthtype=["otp"], tolerate={EMPTY_MODLIST})
        for entry in old:
            self._call("otptoken_del", _first(entry, "ipatokenuniqueid"), tolerate={NOT_FOUND})
        query = dict(parse_qsl(urlsplit(uri).query)) | {"issuer": issuer}
        label = f"{quote(issuer)}:{quote(username)}"
        return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"

    # --- groups --------------------------------------------------------------------------

    def group_exists(self, group: str) -> bool:
        validate_group(group)
        found = self._call("group_show", group, o_no_members=True, tolerate={NOT_FOUND})
        return found is not None

    def create_group(self, group: str, gid_number: int | None) -> None:
        validate_group(group)
        self._must("group_add", group, o_gidnumber=gid_number, o_description="mlplatform group")

    def add_member(self, group: str, username: str) -> None:
        self._membership("group_add_member", group, username)

    def remove_member(self, group: str, username: str) -> None:
        self._membership("group_remove_member", group, username)

    def _membership(self, command: str, group: str, username: str) -> None:
        validate_group(group)
        validate_username(username)
        # IPA reports per-member failures in the result, not as an error.
        answer = self._must(command, group, o_user=[username])
        failures = answer.get("failed", {}).get("member", {}).get("user", [])
        reasons = [str(reason) for _, reason in failures if reason != _ALREADY_DONE[command]]
        if reasons:
            raise PlatformError(
                f"FreeIPA at {self.url} refused {command} {group} {username}: {reasons[0]}",
                _HINTS[NOT_FOUND] if "no such entry" in reasons[0] else "see FreeIPA's reason",
            )

    # --- calls ---------------------------------------------------------------------------

    def _must(self, command: str, *args: Any, **options: Any) -> dict[str, Any]:
        answer = self._call(command, *args, **options)
        assert answer is not None  # nothing tolerated: an error has raised
        return answer

    def _call(
        self,
        command: str,
        *args: Any,
        tolerate: Collection[int] = (),
        secret: str | None = None,
        **options: Any,
    ) -> dict[str, Any] | None:
        """IPA's answer to `command`; None when IPA raised one of the `tolerate` codes."""
        options = {key: value for key, value in options.items() if value is not None}
        try:
            client = self._ipa()
            try:
                return dict(getattr(client, command)(*args, **options))
            except ipa_errors.Unauthorized as exc:
                if type(exc) is not ipa_errors.Unauthorized:
                    raise
                self._login(client)  # IPA sessions expire (20 min by default): once more
                return dict(getattr(client, command)(*args, **options))
        except (requests.exceptions.JSONDecodeError, KeyError):  # not IPA's JSON-RPC answer
            raise PlatformError(
                f"{self.url} did not answer {command} like FreeIPA's JSON-RPC API",
                "check that freeipa.url names the IPA server itself",
            ) from None
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None
        except ipa_errors.FreeIPAError as exc:
            code = getattr(exc, "code", None)
            if code in tolerate:
                return None
            message = " ".join(str(exc).split())[:300]
            if isinstance(code, int) and 400 <= code < 600:  # an HTTP status: the body is HTML
                message = f"HTTP {code}"
            if secret:
                message = message.replace(secret, "***")
            target = next((f" {a}" for a in args if isinstance(a, str)), "")
            hint = _HINTS.get(code or 0, "fix what FreeIPA reports and run the command again")
            if code == 2100:
                hint = f"give '{self.username}' FreeIPA's 'User Administrator' role"
            raise PlatformError(
                f"FreeIPA at {self.url} refused {command}{target}: {message}", hint
            ) from None

    def _ipa(self) -> Any:
        if self._client is None:
            client = _Client(self._host, self._verify_ssl, self._timeout)
            self._login(client)
            self._client = client
        return self._client

    def _login(self, client: Any) -> None:
        password = self._password() if callable(self._password) else self._password
        refused = f"FreeIPA at {self.url} refused the login of '{self.username}'"
        try:
            client.login(self.username, password)
        except ipa_errors.PasswordExpired:
            raise PlatformError(
                f"{refused}: its password has expired",
                "log in once as that account (kinit or the IPA web UI) to set a new password, "
                f"then update {self._password_source}",
            ) from None
        except (ipa_errors.UserLocked, ipa_errors.KrbPrincipalExpired):
            raise PlatformError(
                f"{refused}: the account is disabled, expired or locked out",
                f"ask an IPA admin to run `ipa user-enable {self.username}` or `user-unlock`",
            ) from None
        except ipa_errors.Unauthorized:
            raise PlatformError(
                f"{refused}: wrong password or no such user",
                f"check freeipa.username, {self._password_source} and that "
                "freeipa.url is the IPA server",
            ) from None

    def _unreachable(self, exc: Exception) -> PlatformError:
        if isinstance(exc, requests.exceptions.Timeout):
            reason = f"no answer within {self._timeout:g} s"
        else:
            found = (p.search(str(exc)) for p in _REASONS)
            reason = next((m.group(1).strip() for m in found if m), type(exc).__name__)
        if isinstance(exc, requests.exceptions.SSLError):
            return PlatformError(
                f"cannot reach FreeIPA at {self.url}: its TLS certificate is not trusted "
                f"({reason})",
                "set freeipa.verify_ssl to IPA's CA file (/etc/ipa/ca.crt on enrolled hosts)",
            )
        return PlatformError(
            f"cannot reach FreeIPA at {self.url}: {reason}",
            "check freeipa.url, that the IPA server is up and that this host can reach it",
        )


def _first(entry: dict[str, Any], name: str, default: str = "") -> str:
    values = entry.get(name)
    if isinstance(values, list):
        return str(values[0]) if values else default
    return default if values is None else str(values)


def _person(spec: UserSpec) -> dict[str, str]:
    """IPA's options for what a spec says about the person (team -> departmentnumber)."""
    return {
        "o_givenname": spec.first_name,
        "o_sn": spec.last_name,
        "o_cn": spec.full_name,
        "o_displayname": spec.full_name,
        "o_mail": spec.email,
        "o_departmentnumber": spec.team,
    }


def _to_user(entry: dict[str, Any]) -> DirectoryUser:
    locked = entry.get("nsaccountlock", False)
    if isinstance(locked, list):  # IPA before 4.9 sent ["TRUE"]; later ones a JSON boolean
        locked = bool(locked) and str(locked[0]).upper() == "TRUE"
    return DirectoryUser(
        username=_first(entry, "uid"),
        full_name=_first(entry, "cn"),
        email=_first(entry, "mail"),
        team=_first(entry, "departmentnumber", "unassigned"),
        uid_number=int(_first(entry, "uidnumber", "-1")),
        gid_number=int(_first(entry, "gidnumber", "-1")),
        groups=frozenset(str(g) for g in entry.get("memberof_group", [])),
        locked=bool(locked),
    )
