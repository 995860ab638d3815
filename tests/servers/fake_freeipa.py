"""A stand-in FreeIPA server on loopback HTTPS: no FreeIPA server installs here.

It answers the two endpoints python-freeipa uses with the shapes FreeIPA's JSON-RPC API
documents: `POST /ipa/session/login_password` (a form; 401 plus `X-IPA-Rejection-Reason` when
refused, an `ipa_session` cookie when not) and `POST /ipa/session/json`
(`{"method", "params": [[args], {options}]}` -> `{"result", "error", "id", "principal",
"version"}`). Entries keep IPA's attribute names with list values (`nsaccountlock` is a JSON
boolean as in IPA >= 4.9), numbers come from a DNA-like range starting at 1_200_000, and errors
carry IPA's codes and messages (NotFound 4001, DuplicateEntry 4002, AlreadyActive 4009,
AlreadyInactive 4010, ACIError 2100, EmptyModlist 4202, DatabaseError 4203).

What IPA does at login is modelled where the platform relies on it: an admin-set password is
expired, a disabled user is refused, and a user whose auth type is `otp` must send the password
and a current TOTP code concatenated. It is HTTPS because python-freeipa only speaks HTTPS.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import os
import secrets
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import pyotp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REALM = "DATAPLATFORM.LOCAL"
BASE_DN = "dc=dataplatform,dc=local"
DNA_START = 1_200_000
SEARCH_LIMIT = 100  # ipasearchrecordslimit: what a find returns when no sizelimit is sent


class IpaError(Exception):
    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code, self.name, self.message = code, name, message


def not_found(key: str, kind: str) -> IpaError:
    return IpaError(4001, "NotFound", f"{key}: {kind} not found")


@dataclass
class FakeIpa:
    """The server's state; tests read and change it directly."""

    url: str = ""
    ca_file: str = ""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    sessions: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, list[Any], dict[str, Any]]] = field(default_factory=list)
    requests: int = 0
    logins: int = 0  # successful ones
    next_id: int = DNA_START
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.add_user("admin", "Administrator", password="admin-secret-1")
        self.groups["admins"] = {"cn": ["admins"], "gidnumber": [str(DNA_START)], "member": []}
        self.groups["ipausers"] = {"cn": ["ipausers"], "member": []}  # non-POSIX, like IPA's
        self.groups["admins"]["member"].append("admin")
        self.groups["ipausers"]["member"].append("admin")

    def allocate(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def add_user(self, uid: str, cn: str, password: str | None = None, **attrs: Any) -> None:
        """Seed an account whose password is not expired (as if its owner had changed it)."""
        number = self.allocate()
        given, _, last = cn.partition(" ")
        self.users[uid] = {
            "uid": [uid],
            "givenname": [given],
            "sn": [last or given],
            "cn": [cn],
            "uidnumber": [str(attrs.pop("uidnumber", number))],
            "gidnumber": [str(attrs.pop("gidnumber", number))],
            "homedirectory": [f"/home/{uid}"],
            "loginshell": ["/bin/sh"],
            "krbprincipalname": [f"{uid}@{REALM}"],
            "nsaccountlock": False,
            "ipauniqueid": [str(uuid.uuid4())],
            "dn": f"uid={uid},cn=users,cn=accounts,{BASE_DN}",
        } | {k: v if isinstance(v, list) else [str(v)] for k, v in attrs.items()}
        if password is not None:
            self.passwords[uid] = password
        if "ipausers" in self.groups:
            self.groups["ipausers"]["member"].append(uid)

    # --- views: what IPA sends back -------------------------------------------------------

    def user_view(self, uid: str, members: bool = True) -> dict[str, Any]:
        entry = copy.deepcopy(self.users[uid])
        entry["has_password"] = uid in self.passwords
        entry["has_keytab"] = uid in self.passwords
        entry["preserved"] = False
        if members:
            entry["memberof_group"] = sorted(
                g for g, e in self.groups.items() if uid in e["member"]
            )
        return entry

    def group_view(self, cn: str, members: bool = True) -> dict[str, Any]:
        entry = {k: copy.deepcopy(v) for k, v in self.groups[cn].items() if k != "member"}
        entry["dn"] = f"cn={cn},cn=groups,cn=accounts,{BASE_DN}"
        if members and self.groups[cn]["member"]:
            entry["member_user"] = list(self.groups[cn]["member"])
        return entry

    # --- login -----------------------------------------------------------------------------

    def check_login(self, user: str, password: str) -> str | None:
        """None when accepted, else the X-IPA-Rejection-Reason IPA would send."""
        known = self.passwords.get(user)
        entry = self.users.get(user)
        if known is None or entry is None:
            return "invalid-password"
        if "otp" in entry.get("ipauserauthtype", []):
            owned = [t for t in self.tokens.values() if t["ipatokenowner"] == [user]]
            code, password = password[-6:], password[:-6]
            if not any(pyotp.TOTP(t["secret"]).verify(code, valid_window=1) for t in owned):
                return "invalid-password"
        if password != known:
            return "invalid-password"
        if entry["nsaccountlock"]:
            return "user-locked"
        return "password-expired" if user in self.expired else None

    # --- commands --------------------------------------------------------------------------

    def run(self, actor: str, method: str, args: list[Any], options: dict[str, Any]) -> Any:
        command = method.split("/")[0]
        handler: Callable[..., Any] | None = getattr(self, f"cmd_{command}", None)
        if handler is None:
            raise IpaError(905, "CommandError", f"unknown command '{command}'")
        if not command.endswith(("_show", "_find")) and actor not in self.admins():
            raise IpaError(2100, "ACIError", f"Insufficient access: no '{command}' right")
        return handler(*args, **options)

    def admins(self) -> list[str]:
        return list(self.groups["admins"]["member"])

    def _user(self, uid: str) -> dict[str, Any]:
        if uid not in self.users:
            raise not_found(uid, "user")
        return self.users[uid]

    def _group(self, cn: str) -> dict[str, Any]:
        if cn not in self.groups:
            raise not_found(cn, "group")
        return self.groups[cn]

    def cmd_user_add(self, uid: str, **o: Any) -> dict[str, Any]:
        if uid in self.users or uid in self.groups:
            raise IpaError(4002, "DuplicateEntry", f'user with name "{uid}" already exists')
        # DNA hands out one number for both when neither is given, like IPA's user-add.
        uidnumber = o.get("uidnumber") or self.allocate()
        gidnumber = o.get("gidnumber") or (uidnumber if not o.get("uidnumber") else self.allocate())
        attrs = {k: o[k] for k in ("mail", "departmentnumber", "displayname") if o.get(k)}
        self.add_user(uid, o["cn"], uidnumber=uidnumber, gidnumber=gidnumber, **attrs)
        self.users[uid].update(givenname=[o["givenname"]], sn=[o["sn"]])
        if o.get("userpassword"):
            self.passwords[uid] = o["userpassword"]
            self.expired.add(uid)
        return {"result": self.user_view(uid), "value": uid, "summary": f'Added user "{uid}"'}

    def cmd_user_mod(self, uid: str, **o: Any) -> dict[str, Any]:
        entry = self._user(uid)
        editable = ("givenname", "sn", "cn", "displayname", "mail", "departmentnumber")
        changes = {k: [o[k]] for k in editable if o.get(k) is not None and entry.get(k) != [o[k]]}
        if o.get("ipauserauthtype") is not None:
            wanted = o["ipauserauthtype"]
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if entry.get("ipauserauthtype") != wanted:
                changes["ipauserauthtype"] = wanted
        password = o.get("userpassword")
        if not changes and password is None:
            raise IpaError(4202, "EmptyModlist", "no modifications to be performed")
        if password is not None:
            if len(password) < 8:
                raise IpaError(4203, "DatabaseError", "Constraint violation: Password is too short")
            self.passwords[uid] = password
            self.expired.add(uid)  # IPA expires every password an administrator sets
        entry.update(changes)
        return {"result": self.user_view(uid), "value": uid, "summary": f'Modified user "{uid}"'}

    def _show(self, kind: str, key: str, o: dict[str, Any]) -> dict[str, Any]:
        (self._user if kind == "user" else self._group)(key)
        view = self.user_view if kind == "user" else self.group_view
        return {"result": view(key, not o.get("no_members")), "value": key, "summary": None}

    def _find(self, kind: str, criteria: str | None, o: dict[str, Any]) -> dict[str, Any]:
        entries, view = (
            (self.users, self.user_view) if kind == "user" else (self.groups, self.group_view)
        )
        names = [name for name in sorted(entries) if not criteria or criteria in name]
        views = [view(name, not o.get("no_members", True)) for name in names]
        return find_result(views, o.get("sizelimit"), kind)

    def cmd_user_show(self, uid: str, **o: Any) -> dict[str, Any]:
        return self._show("user", uid, o)

    def cmd_user_find(self, criteria: str | None = None, **o: Any) -> dict[str, Any]:
        return self._find("user", criteria, o)

    def _set_lock(self, uid: str, locked: bool) -> dict[str, Any]:
        entry = self._user(uid)
        if entry["nsaccountlock"] == locked:
            if locked:
                raise IpaError(4010, "AlreadyInactive", "This entry is already disabled")
            raise IpaError(4009, "AlreadyActive", "This entry is already enabled")
        entry["nsaccountlock"] = locked
        if locked:  # IPA ends the disabled user's sessions
            self.sessions = {k: v for k, v in self.sessions.items() if v != uid}
        verb = "Disabled" if locked else "Enabled"
        return {"result": True, "value": uid, "summary": f'{verb} user account "{uid}"'}

    def cmd_user_disable(self, uid: str, **o: Any) -> dict[str, Any]:
        return self._set_lock(uid, True)

    def cmd_user_enable(self, uid: str, **o: Any) -> dict[str, Any]:
        return self._set_lock(uid, False)

    def cmd_passwd(self, principal: str, password: str, current: Any = None, **o: Any) -> Any:
        uid = principal.split("@")[0]
        self.cmd_user_mod(uid, userpassword=password)
        return {"result": True, "value": uid, "summary": f'Changed password for "{uid}@{REALM}"'}

    def cmd_group_add(self, cn: str, **o: Any) -> dict[str, Any]:
        if cn in self.groups or cn in self.users:  # a user's private group holds the name too
            raise IpaError(4002, "DuplicateEntry", f'group with name "{cn}" already exists')
        self.groups[cn] = {"cn": [cn], "member": []}
        if not o.get("nonposix"):
            self.groups[cn]["gidnumber"] = [str(o.get("gidnumber") or self.allocate())]
        if o.get("description"):
            self.groups[cn]["description"] = [o["description"]]
        return {"result": self.group_view(cn), "value": cn, "summary": f'Added group "{cn}"'}

    def cmd_group_show(self, cn: str, **o: Any) -> dict[str, Any]:
        return self._show("group", cn, o)

    def cmd_group_find(self, criteria: str | None = None, **o: Any) -> dict[str, Any]:
        return self._find("group", criteria, o)

    def _members(self, cn: str, users: Any, adding: bool) -> dict[str, Any]:
        members = self._group(cn)["member"]
        failed: list[list[str]] = []
        for uid in users if isinstance(users, list) else [users]:
            if uid not in self.users:
                failed.append([uid, "no such entry"])
            elif adding and uid in members:
                failed.append([uid, "This entry is already a member"])
            elif not adding and uid not in members:
                failed.append([uid, "This entry is not a member"])
            else:
                (members.append if adding else members.remove)(uid)
        done = len(users if isinstance(users, list) else [users]) - len(failed)
        return {
            "result": self.group_view(cn),
            "failed": {"member": {"group": [], "user": failed, "service": []}},
            "completed": done,
        }

    def cmd_group_add_member(self, cn: str, **o: Any) -> dict[str, Any]:
        return self._members(cn, o.get("user", []), adding=True)

    def cmd_group_remove_member(self, cn: str, **o: Any) -> dict[str, Any]:
        return self._members(cn, o.get("user", []), adding=False)

    def cmd_otptoken_add(self, token_id: str | None = None, **o: Any) -> dict[str, Any]:
        owner = o.get("ipatokenowner") or "admin"
        self._user(owner)
        token_id = token_id or str(uuid.uuid4())
        key = os.urandom(20)
        params = {
            "issuer": f"{owner}@{REALM}",
            "secret": base64.b32encode(key).decode(),
            "digits": o.get("ipatokenotpdigits", 6),
            "algorithm": str(o.get("ipatokenotpalgorithm", "sha1")).upper(),
            "period": o.get("ipatokentotptimestep", 30),
        }
        uri = f"otpauth://totp/{owner}@{REALM}:{quote(token_id)}?{urlencode(params)}"
        self.tokens[token_id] = {
            "ipatokenuniqueid": [token_id],
            "type": "TOTP",
            "ipatokenowner": [owner],
            "description": [o["description"]] if o.get("description") else [],
            "secret": params["secret"],  # kept for login checks, never sent back (no_display)
        }
        shown = {k: v for k, v in self.tokens[token_id].items() if k != "secret"} | {"uri": uri}
        return {"result": shown, "value": token_id, "summary": f'Added OTP token "{token_id}"'}

    def cmd_otptoken_find(self, criteria: str | None = None, **o: Any) -> dict[str, Any]:
        owner = o.get("ipatokenowner")
        views = [
            {k: v for k, v in t.items() if k != "secret"}
            for t in self.tokens.values()
            if owner is None or t["ipatokenowner"] == [owner]
        ]
        return find_result(views, o.get("sizelimit"), "OTP token")

    def cmd_otptoken_del(self, token_id: str, **o: Any) -> dict[str, Any]:
        if self.tokens.pop(token_id, None) is None:
            raise not_found(token_id, "OTP token")
        return {"result": {"failed": []}, "value": [token_id], "summary": "Deleted OTP token"}


def find_result(views: list[dict[str, Any]], sizelimit: Any, kind: str) -> dict[str, Any]:
    limit = SEARCH_LIMIT if sizelimit is None else int(sizelimit)
    shown = views if limit == 0 else views[:limit]
    plural = "s" if len(shown) != 1 else ""
    return {
        "result": shown,
        "count": len(shown),
        "truncated": len(shown) < len(views),
        "summary": f"{len(shown)} {kind}{plural} matched",
    }


def _handler(ipa: FakeIpa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _unauthorized(self, reason: str | None = None) -> None:
            headers = {"Content-Type": "text/html; charset=utf-8"}
            if reason:
                headers["X-IPA-Rejection-Reason"] = reason
            self._send(401, b"<html><title>401 Unauthorized</title></html>", headers)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with ipa.lock:
                ipa.requests += 1
                if self.path == "/ipa/session/login_password":
                    self._login(parse_qs(body.decode()))
                elif self.path == "/ipa/session/json":
                    self._json(body)
                else:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})

        def _login(self, form: dict[str, list[str]]) -> None:
            user = form.get("user", [""])[0]
            reason = ipa.check_login(user, form.get("password", [""])[0])
            if reason:
                return self._unauthorized(reason)
            token = secrets.token_urlsafe(16)
            ipa.sessions[token] = user
            ipa.logins += 1
            cookie = f"ipa_session=MagBearerToken={token}; Path=/ipa; Secure; HttpOnly"
            self._send(200, b"", {"Set-Cookie": cookie, "Content-Type": "text/plain"})

        def _json(self, body: bytes) -> None:
            cookie = self.headers.get("Cookie", "")
            token = cookie.partition("ipa_session=MagBearerToken=")[2].split(";")[0]
            actor = ipa.sessions.get(token)
            if actor is None:
                return self._unauthorized()
            request = json.loads(body)
            args, options = request["params"]
            args = [a for a in args if a is not None]
            ipa.calls.append((request["method"], args, options))
            answer: dict[str, Any] = {"result": None, "error": None, "id": request.get("id")}
            try:
                answer["result"] = ipa.run(actor, request["method"], args, options)
            except IpaError as exc:
                error = {"code": exc.code, "name": exc.name, "message": exc.message}
                answer["error"] = error | {"data": {"reason": exc.message}}
            answer |= {"principal": f"{actor}@{REALM}", "version": "4.9.13"}
            self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    return Handler


def make_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Certificate Authority {REALM}")])
    host_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])

    def build(subject: x509.Name, public: Any, ca: bool) -> x509.CertificateBuilder:
        builder = x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
        builder = builder.public_key(public).serial_number(x509.random_serial_number())
        builder = builder.not_valid_before(now - datetime.timedelta(minutes=5))
        builder = builder.not_valid_after(now + datetime.timedelta(days=1))
        return builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)

    ca_cert = build(ca_name, ca_key.public_key(), True).sign(ca_key, hashes.SHA256())
    alt = x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))])
    cert = build(host_name, key.public_key(), False).add_extension(alt, critical=False)
    paths = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(
        cert.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    )
    pkcs8, plain = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, plain))
    return paths


@contextmanager
def serve_fake_freeipa(folder: Path) -> Iterator[FakeIpa]:
    """Run the fake on 127.0.0.1 (a free port) until the block ends; `.url`, `.ca_file` set."""
    ca_file, cert_file, key_file = make_certificate(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    ipa = FakeIpa()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ipa))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    ipa.url = f"https://127.0.0.1:{server.server_address[1]}"
    ipa.ca_file = str(ca_file)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ipa
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
