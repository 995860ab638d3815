"""One real JupyterHub on loopback, configured only through deploy/jupyterhub's files.

Recipe from ../shared/reference/test-services.md: configurable-http-proxy from npm, the simple
local spawner, `--allow-root` under root, started with `subprocess.Popen` so the fixture owns
the PID (shutdown 1-2 s). The directory is the session's slapd; users and groups are written
with raw ldap3 as the manager account, so these tests do not depend on the user manager.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import ldap3
import psutil
import yaml

from tests.servers.slapd import LdapServer

REPO = Path(__file__).resolve().parents[2]
CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
HUB_CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
USERS_OU = "cn=users,cn=accounts,dc=dataplatform,dc=local"
GROUPS_OU = "cn=groups,cn=accounts,dc=dataplatform,dc=local"


@dataclass
class Hub:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    log: Path
    home_root: Path
    totp_file: Path
    session_seconds: float
    credentials_url: str  # the aws-credentials service the hub runs
    secrets_sent: set[str] = field(default_factory=set)  # every password/code/token used

    def api(self, method: str, path: str) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}/hub/api{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )


def user_dn(name: str) -> str:
    return f"uid={name},{USERS_OU}"


def manager(server: LdapServer) -> ldap3.Connection:
    return ldap3.Connection(server.url, server.manager_dn, server.manager_password, auto_bind=True)


def add_user(server: LdapServer, name: str, password: str, *, locked: bool = False) -> None:
    attrs = {"uid": name, "cn": name, "sn": name, "userPassword": password}
    if locked:
        attrs["nsAccountLock"] = "TRUE"
    conn = manager(server)
    try:
        assert conn.add(user_dn(name), ["inetOrgPerson", "nsAccount"], attrs), conn.result
    finally:
        conn.unbind()


def add_group(server: LdapServer, cn: str, members: list[str], gid: int) -> str:
    dn = f"cn={cn},{GROUPS_OU}"
    conn = manager(server)
    try:
        assert conn.add(
            dn,
            ["groupOfNames", "posixGroup"],
            {"cn": cn, "gidNumber": gid, "member": [user_dn(m) for m in members]},
        ), conn.result
    finally:
        conn.unbind()
    return dn


def set_locked(server: LdapServer, name: str) -> None:
    conn = manager(server)
    try:
        change = {"nsAccountLock": [(ldap3.MODIFY_REPLACE, ["TRUE"])]}
        assert conn.modify(user_dn(name), change), conn.result
    finally:
        conn.unbind()


def write_config(folder: Path, server: LdapServer, group_dn: str, ports: list[int]) -> Path:
    proxy_port, hub_port, api_port, credentials_port = ports
    config = {
        "version": 1,
        "ldap": {
            "server_address": "127.0.0.1",
            "server_port": server.port,
            "tls": "insecure",
            # The test group, and the platform group `mlplatform users add` puts people in.
            "allowed_groups": [group_dn, f"cn=ml-platform-users,{GROUPS_OU}"],
            "search_bind_dn": server.hub_dn,
            "lock_recheck_seconds": 3,
        },
        "mfa": {"mode": "totp", "store": "file", "file": str(folder / "totp.json")},
        "session_hours": 20 / 3600,
        "culler": {"timeout": 10, "cull_every": 5},
        "spawner": {
            "kind": "simple",
            "home_root": str(folder / "data"),
            "notebook_dir_template": str(folder / "data" / "{username}"),
            "start_timeout": 60,
        },
        "hub": {
            "ip": "127.0.0.1",
            "port": proxy_port,
            "hub_port": hub_port,
            "proxy_api_port": api_port,
            "state_dir": str(folder / "state"),
            "proxy_command": [str(CHP)],
        },
        "aws": {"user_credentials": True, "port": credentials_port},
    }
    path = folder / "jupyterhub.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_hub(
    folder: Path,
    server: LdapServer,
    config: Path,
    token: str,
    extra_env: dict[str, str] | None = None,
) -> Hub:
    """Start the hub from `config`, `extra_env` added to ours; the caller stops it (`stop_hub`)."""
    if not CHP.exists():
        raise RuntimeError("configurable-http-proxy is missing: run `npm ci` (make test does)")
    (folder / "state").mkdir(mode=0o700)
    settings = yaml.safe_load(config.read_text())
    env = dict(os.environ) | (extra_env or {})
    env |= {
        "MLPLATFORM_HUB_CONFIG": str(config),
        "MLPLATFORM_HUB_LDAP_PASSWORD": server.hub_password,
        "MLPLATFORM_JUPYTERHUB_TOKEN": token,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    log = folder / "hub.log"
    with log.open("wb") as out:
        # --debug: the "never logged" test is only worth something at the chattiest level.
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG), "--debug"],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    hub = Hub(
        url=f"http://127.0.0.1:{settings['hub']['port']}",
        token=token,
        proc=proc,
        log=log,
        home_root=folder / "data",
        totp_file=folder / "totp.json",
        session_seconds=settings["session_hours"] * 3600,
        credentials_url=f"http://127.0.0.1:{settings['aws']['port']}/",
    )
    hub.secrets_sent |= {token, server.hub_password}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if hub.api("GET", "/").status_code == 200:
                return hub
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop_hub(hub)
    raise RuntimeError(f"JupyterHub did not start:\n{log.read_text()[-3000:]}")


def stop_hub(hub: Hub) -> None:
    """SIGTERM the hub (it stops the proxy, the culler and servers), then any leftover child."""
    try:
        children = psutil.Process(hub.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    hub.proc.terminate()
    try:
        hub.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        hub.proc.kill()
        hub.proc.wait(timeout=10)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def login(hub: Hub, username: str, password: str, code: str) -> tuple[httpx.Client, httpx.Response]:
    """Log in as a browser does: the form's _xsrf, then POST; the client keeps the cookies."""
    hub.secrets_sent |= {password, code}
    client = httpx.Client(base_url=hub.url, follow_redirects=False, timeout=60)
    page = client.get("/hub/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf, page.text
    form = {"username": username, "password": password, "otp": code, "_xsrf": xsrf.group(1)}
    return client, client.post("/hub/login", data=form)


def server_process(hub: Hub, username: str) -> psutil.Process:
    """The hub's child process serving `username` (its environment says whose it is)."""
    for child in psutil.Process(hub.proc.pid).children(recursive=True):
        try:
            if child.environ().get("JUPYTERHUB_USER") == username:
                return child
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    raise AssertionError(f"no server process for {username}")
