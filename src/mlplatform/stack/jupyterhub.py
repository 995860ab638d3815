"""JupyterHub with the platform's configurer, logging in against the stack's ldaps directory.

The hub reads one YAML file (mlplatform.hub.config) through a `jupyterhub_config.py` that calls
`mlplatform.hub.configurer.configure`, exactly as deploy/jupyterhub does. Stack differences:
password-only login (no TOTP enrolment for the demo user), the simple spawner (servers run as
the hub's account; no system users), no per-user AWS credentials service, everything on
127.0.0.1. The hub runs in a session of its own; `down` stops that session (hub, proxy, culler,
notebook servers) by its PID.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import yaml

from mlplatform.stack.ldap import GROUPS_BASE, HUB_DN
from mlplatform.stack.process import launch, stop_pid

CONFIG_PY = """# Written by `mlplatform stack up`: the platform's configurer reads jupyterhub.yaml.
import os

from mlplatform.errors import PlatformError
from mlplatform.hub.configurer import configure

c = get_config()  # type: ignore[name-defined]  # noqa: F821
try:
    configure(c, os.environ["MLPLATFORM_HUB_CONFIG"])
except PlatformError as exc:
    raise SystemExit(f"jupyterhub: {exc.one_line()}") from None
"""
TOKEN_ENV = "MLPLATFORM_JUPYTERHUB_TOKEN"
LDAP_PASSWORD_ENV = "MLPLATFORM_HUB_LDAP_PASSWORD"


def proxy_command() -> str | None:
    """configurable-http-proxy: on PATH, else the project's node_modules (a source checkout)."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    for root in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = root / "node_modules" / ".bin" / "configurable-http-proxy"
        if candidate.exists():
            return str(candidate)
    return None


def missing() -> str | None:
    """Why the hub cannot run here, or None."""
    if importlib.util.find_spec("jupyterhub") is None:
        return "jupyterhub is not installed: pip install 'mlplatform[hub]'"
    if importlib.util.find_spec("ldapauthenticator") is None:
        return "jupyterhub-ldapauthenticator is not installed: pip install 'mlplatform[hub]'"
    if proxy_command() is None:
        return "configurable-http-proxy is not installed: npm install -g configurable-http-proxy"
    return None


def start(
    folder: Path,
    ports: dict[str, int],
    ldap_port: int,
    ca_cert: Path,
    hub_password: str,
    token: str,
    timeout: float,
) -> tuple[int, str]:
    """Start the hub; its PID and public URL. `ports`: public, hub, proxy_api."""
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    home_root = folder / "home"
    home_root.mkdir(exist_ok=True)
    config = {
        "version": 1,
        "ldap": {
            "server_address": "127.0.0.1",
            "server_port": ldap_port,
            "tls": "on_connect",
            "ca_cert_file": str(ca_cert),
            "allowed_groups": [f"cn=ml-platform-users,{GROUPS_BASE}"],
            "search_bind_dn": HUB_DN,
            "search_password_env": LDAP_PASSWORD_ENV,
        },
        "mfa": {"mode": "none", "store": "file", "file": str(state / "totp-secrets.json")},
        "spawner": {
            "kind": "simple",
            "home_root": str(home_root),
            "notebook_dir_template": str(home_root / "{username}"),
            "start_timeout": 60,
        },
        "hub": {
            "ip": "127.0.0.1",
            "port": ports["public"],
            "hub_port": ports["hub"],
            "proxy_api_port": ports["proxy_api"],
            "state_dir": str(state),
            "proxy_command": [proxy_command() or "configurable-http-proxy"],
        },
        "user_manager": {"token_env": TOKEN_ENV},
        "aws": {"user_credentials": False},
    }
    config_yaml = folder / "jupyterhub.yaml"
    config_yaml.write_text(
        "# Written by `mlplatform stack up` (rewritten by every up).\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    config_py = folder / "jupyterhub_config.py"
    config_py.write_text(CONFIG_PY)
    env = dict(os.environ) | {
        "MLPLATFORM_HUB_CONFIG": str(config_yaml),
        LDAP_PASSWORD_ENV: hub_password,
        TOKEN_ENV: token,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    log = folder / "jupyterhub.log"
    url = f"http://127.0.0.1:{ports['public']}"

    def ready() -> bool:
        import httpx

        reply = httpx.get(f"{url}/hub/api/", timeout=2)
        return reply.status_code == 200

    command = [sys.executable, "-m", "jupyterhub", "-f", str(config_py)]
    pid = launch(
        command, "jupyterhub", log, ready, timeout, env=env, cwd=folder,
        stop=lambda pid: stop(pid, state),
    )  # fmt: skip
    return pid, url


def stop(pid: int, state: Path) -> None:
    """The hub and its session (culler, servers), then a proxy it left running."""
    stop_pid(pid, group=True)
    with contextlib.suppress(OSError, ValueError):
        proxy = int((state / "jupyterhub-proxy.pid").read_text().strip())
        if b"configurable-http-proxy" in Path(f"/proc/{proxy}/cmdline").read_bytes():
            stop_pid(proxy)
