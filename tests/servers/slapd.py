"""A throwaway OpenLDAP server on loopback, laid out like FreeIPA.

Recipe from ../shared/reference/test-services.md: a cn=config LDIF loaded with `slapadd -n0`,
base entries with `slapadd -n1`, `slapd -d 0` in the foreground so the fixture owns its PID.
Differences from Debian's defaults, each because production (FreeIPA / 389-DS) works that way:

- users under `cn=users,cn=accounts`, groups under `cn=groups,cn=accounts`;
- groups are `groupOfNames` + `posixGroup`, so `posixGroup` is made AUXILIARY (rfc2307bis);
- `nsAccountLock` (deploy/ldap/mlplatform-schema.ldif) marks a disabled account;
- service accounts under `cn=sysaccounts,cn=etc`: the user manager writes, the hub reads, and
  only those two can read a TOTP secret.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# The directory's layout, schema and cn=config are `mlplatform stack`'s: one definition, so
# the tests and the local stack cannot drift apart.
from mlplatform.stack.ldap import (
    ADMIN_DN,
    BASE_DN,
    HUB_DN,
    MANAGER_DN,
    config_ldif,
    hash_password,
)


@dataclass(frozen=True)
class LdapServer:
    url: str
    base_dn: str
    admin_dn: str
    admin_password: str
    manager_dn: str
    manager_password: str
    hub_dn: str
    hub_password: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].rstrip("/"))


def _base_ldif(manager_hash: str, hub_hash: str) -> str:
    containers = [
        (
            "dc=dataplatform,dc=local",
            "objectClass: dcObject\nobjectClass: organization\no: dataplatform\ndc: dataplatform",
        ),
        (f"cn=accounts,{BASE_DN}", "objectClass: organizationalRole\ncn: accounts"),
        (f"cn=users,cn=accounts,{BASE_DN}", "objectClass: organizationalRole\ncn: users"),
        (f"cn=groups,cn=accounts,{BASE_DN}", "objectClass: organizationalRole\ncn: groups"),
        (f"cn=etc,{BASE_DN}", "objectClass: organizationalRole\ncn: etc"),
        (f"cn=sysaccounts,cn=etc,{BASE_DN}", "objectClass: organizationalRole\ncn: sysaccounts"),
        (
            MANAGER_DN,
            f"objectClass: account\nobjectClass: simpleSecurityObject\n"
            f"uid: mlplatform-manager\nuserPassword: {manager_hash}",
        ),
        (
            HUB_DN,
            f"objectClass: account\nobjectClass: simpleSecurityObject\n"
            f"uid: jupyterhub\nuserPassword: {hub_hash}",
        ),
    ]
    return "\n\n".join(f"dn: {dn}\n{body}" for dn, body in containers) + "\n"


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_slapd(folder: Path) -> tuple[subprocess.Popen[bytes], LdapServer]:
    """Build the directory in `folder` and start slapd; the caller stops the process."""
    if not shutil.which("slapd", path="/usr/sbin:/usr/bin:/sbin"):
        raise RuntimeError("slapd is not installed: run `make test` (it installs slapd)")
    passwords = {"admin": "admin-secret", "manager": "manager-secret", "hub": "hub-secret"}
    (folder / "slapd.d").mkdir(parents=True)
    (folder / "data").mkdir()
    config = folder / "config.ldif"
    config.write_text(config_ldif(folder, hash_password(passwords["admin"]), tls=None))
    base = folder / "base.ldif"
    base.write_text(
        _base_ldif(hash_password(passwords["manager"]), hash_password(passwords["hub"]))
    )
    slapadd = shutil.which("slapadd", path="/usr/sbin:/usr/bin:/sbin") or "slapadd"
    for args in (["-n0", "-l", str(config)], ["-n1", "-l", str(base)]):
        subprocess.run(
            [slapadd, "-F", str(folder / "slapd.d"), *args], check=True, capture_output=True
        )
    port = _free_port()
    if not _port_is_free(port):  # an old slapd would answer our readiness poll
        raise RuntimeError(f"port {port} already answers")
    url = f"ldap://127.0.0.1:{port}"
    slapd = shutil.which("slapd", path="/usr/sbin:/usr/bin:/sbin") or "slapd"
    proc = subprocess.Popen(
        [slapd, "-d", "0", "-F", str(folder / "slapd.d"), "-h", f"{url}/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while _port_is_free(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("slapd did not start")
        time.sleep(0.05)
    server = LdapServer(
        url=url,
        base_dn=BASE_DN,
        admin_dn=ADMIN_DN,
        admin_password=passwords["admin"],
        manager_dn=MANAGER_DN,
        manager_password=passwords["manager"],
        hub_dn=HUB_DN,
        hub_password=passwords["hub"],
    )
    return proc, server
