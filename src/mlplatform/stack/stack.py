"""`mlplatform stack up|down|status`: the platform on one machine, on loopback.

The state folder (default `$MLPLATFORM_HOME/stack/`) holds each service's data and log, the
generated CA (`tls/`), the service passwords (`secrets/`, mode 0600) and `state.json`: what `up`
started (PIDs, ports, URLs). `down` stops exactly those PIDs (SIGTERM, wait, SIGKILL), checking
first that each PID still runs the program `up` started, and keeps the data unless `purge`.

`up` writes the `stack` profile for both sides: `$MLPLATFORM_HOME/profiles/stack.yaml` and
`$METAFLOW_HOME/config_stack.json` (S3 datastore on the loopback endpoint; Metaflow's local
metadata unless a metadata service is installed). Secrets never go in a profile: the profile
names the environment variables, and `secrets.env` in the state folder holds their values.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplatform.errors import PlatformError
from mlplatform.settings import home
from mlplatform.stack import jupyterhub, ldap, metadata, postgres, s3
from mlplatform.stack.process import (
    INSTALL_HINT,
    free_port,
    pid_alive,
    port_answers,
    secret_file,
    stop_pid,
    write_private,
)
from mlplatform.stack.tls import ensure_tls

PROFILE = "stack"
STATE_FILE = "state.json"
# Stopped in this order; started in the reverse.
ORDER = ["jupyterhub", "jupyterhub-proxy", "metadata", "ldap", "s3", "postgres"]
# What each service's command line contains: a PID reused by another program is left alone.
PROGRAMS = {
    "postgres": "postgres",
    "s3": "moto",
    "ldap": "slapd",
    "jupyterhub": "jupyterhub",
    "jupyterhub-proxy": "configurable-http-proxy",
    "metadata": "metadata",
}
NOT_CONFIGURED = "not configured"


@dataclass
class Service:
    name: str
    pid: int | None
    port: int | None
    url: str | None
    log: str | None = None


@dataclass
class StackState:
    folder: Path
    services: dict[str, Service] = field(default_factory=dict)
    started_at: float = 0.0
    notes: dict[str, str] = field(default_factory=dict)  # service -> why it is not running

    @classmethod
    def load(cls, folder: Path) -> StackState | None:
        path = folder / STATE_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            services = {k: Service(**v) for k, v in data.get("services", {}).items()}
        except (ValueError, TypeError) as exc:
            raise PlatformError(
                f"{path} is not a stack state file ({exc})",
                "stop what it started by hand, then delete it",
            ) from None
        return cls(folder, services, data.get("started_at", 0.0), data.get("notes", {}))

    def save(self) -> None:
        data = {
            "version": 1,
            "started_at": self.started_at,
            "services": {k: asdict(v) for k, v in self.services.items()},
            "notes": self.notes,
        }
        path = self.folder / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)


@dataclass
class UpResult:
    state: StackState
    already_up: bool
    demo_password: str | None = None
    profile: Path | None = None
    metaflow_profile: Path | None = None
    exports: str = ""
    seconds: float = 0.0
    cleaned_stale: bool = False


def default_folder() -> Path:
    return home() / "stack"


def running(service: Service) -> bool:
    """The PID still runs the program the stack started under it."""
    if not pid_alive(service.pid):
        return False
    program = PROGRAMS.get(service.name, service.name)
    try:
        cmdline = Path(f"/proc/{service.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return program.encode() in cmdline


def _stop(state: StackState) -> None:
    for name in ORDER:
        service = state.services.get(name)
        if service is not None and running(service):
            # The hub leads a session of its own: its culler and notebook servers go with it.
            group = name == "jupyterhub"
            stop_pid(service.pid, timeout=30 if name == "postgres" else 20, group=group)


def preflight() -> None:
    """Every system binary and package `up` needs, checked before anything starts."""
    missing = ldap.missing_binaries()
    if postgres.bindir() is None:
        missing += ["initdb", "pg_ctl"]
    if missing:
        hint = f"install them: {INSTALL_HINT}"
        if "slapd" in missing and (sbin := ldap.off_path_folder()):
            hint += f" (or, if {sbin}/slapd is the one to use, add {sbin} to PATH)"
        raise PlatformError(f"missing system programs: {', '.join(missing)}", hint)
    if not s3.installed():
        raise PlatformError(
            "moto server is not installed", "pip install 'mlplatform[stack]' (moto[server])"
        )


def up(
    folder: Path,
    timeout: float = 60.0,
    hub: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> UpResult:
    """Start every service (or say it is already up); seed them; write the profiles."""
    started = time.monotonic()
    step = on_step or (lambda _: None)
    folder = folder.expanduser().resolve()
    previous = StackState.load(folder)
    cleaned = False
    if previous is not None:
        alive = [s for s in previous.services.values() if running(s)]
        if alive and len(alive) == len(previous.services):
            return UpResult(previous, already_up=True)
        _stop(previous)  # a partial or stale stack: what still runs of it is ours to stop
        (folder / STATE_FILE).unlink()
        cleaned = True
    preflight()
    folder.mkdir(parents=True, exist_ok=True)
    secrets_dir = folder / "secrets"
    step("certificates")
    tls = ensure_tls(folder / "tls")
    passwords = ldap.passwords(secrets_dir)
    hub_token = secret_file(secrets_dir / "jupyterhub-token")
    state = StackState(folder, started_at=time.time())
    try:
        step("postgres")
        pg = postgres.start(folder / "postgres", free_port(), tls, secrets_dir, timeout)
        state.services["postgres"] = Service("postgres", pg.pid, pg.port, pg.url, str(pg.log))
        state.save()

        step("s3")
        s3_pid, s3_url = s3.start(folder / "s3", free_port(), timeout)
        state.services["s3"] = Service(
            "s3", s3_pid, int(s3_url.rsplit(":", 1)[1]), s3_url, str(folder / "s3" / "moto.log")
        )
        state.save()
        s3.create_bucket(s3_url)

        step("ldap")
        ldap_port = free_port()
        ldap_pid, ldap_url = ldap.start(folder / "ldap", ldap_port, tls, passwords, timeout)
        state.services["ldap"] = Service(
            "ldap", ldap_pid, ldap_port, ldap_url, str(folder / "ldap" / "slapd.log")
        )
        state.save()
        demo_password = ldap.seed(
            ldap_url, tls.ca_cert, passwords["manager"], str(folder / "jupyterhub" / "home")
        )

        if metadata.command() is not None:
            step("metadata service")
            md_port = free_port()
            db_password = secret_file(secrets_dir / "postgres-password")
            md_pid, md_url = metadata.start(
                folder / "metadata", md_port, pg.port, db_password, timeout
            )
            state.services["metadata"] = Service(
                "metadata", md_pid, md_port, md_url, str(folder / "metadata" / "metadata.log")
            )
            state.save()
        else:
            state.notes["metadata"] = "no metadata service installed: Metaflow uses local metadata"

        if hub and (why := jupyterhub.missing()) is None:
            step("jupyterhub")
            ports = {"public": free_port(), "hub": free_port(), "proxy_api": free_port()}
            hub_pid, hub_url = jupyterhub.start(
                folder / "jupyterhub",
                ports,
                ldap_port,
                tls.ca_cert,
                passwords["hub"],
                hub_token,
                timeout,
            )
            state.services["jupyterhub"] = Service(
                "jupyterhub",
                hub_pid,
                ports["public"],
                hub_url,
                str(folder / "jupyterhub" / "jupyterhub.log"),
            )
            proxy_pid_file = folder / "jupyterhub" / "state" / "jupyterhub-proxy.pid"
            with contextlib.suppress(OSError, ValueError):
                proxy_pid = int(proxy_pid_file.read_text().strip())
                state.services["jupyterhub-proxy"] = Service(
                    "jupyterhub-proxy",
                    proxy_pid,
                    ports["proxy_api"],
                    f"http://127.0.0.1:{ports['proxy_api']}/api/routes",
                )
            state.save()
        else:
            state.notes["jupyterhub"] = "skipped (--no-hub)" if not hub else str(why)
        state.save()
    except BaseException:
        _stop(state)
        with contextlib.suppress(OSError):
            (folder / STATE_FILE).unlink()
        raise

    step("profiles")
    profile, metaflow_profile = write_profiles(state, tls.ca_cert)
    exports = write_environment(state)
    return UpResult(
        state,
        already_up=False,
        demo_password=demo_password,
        profile=profile,
        metaflow_profile=metaflow_profile,
        exports=exports,
        seconds=time.monotonic() - started,
        cleaned_stale=cleaned,
    )


def datastore_root() -> str:
    return f"s3://{s3.BUCKET}/metaflow"


def metaflow_home() -> Path:
    return Path(os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()


def write_profiles(state: StackState, ca_cert: Path) -> tuple[Path, Path]:
    """The `stack` profiles: mlplatform's YAML and Metaflow's JSON."""
    services = state.services
    s3_url = services["s3"].url or ""
    metaflow_keys: dict[str, str] = {
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": datastore_root(),
        "METAFLOW_DATATOOLS_S3ROOT": f"s3://{s3.BUCKET}/data",
        "METAFLOW_S3_ENDPOINT_URL": s3_url,
        "METAFLOW_DEFAULT_METADATA": "local",
    }
    if "metadata" in services:
        metaflow_keys["METAFLOW_DEFAULT_METADATA"] = "service"
        metaflow_keys["METAFLOW_SERVICE_URL"] = services["metadata"].url or ""
    folder = state.folder
    profile: dict[str, Any] = {
        "s3": {"datastore_root": datastore_root()},
        "ldap": {
            "url": services["ldap"].url,
            "base_dn": ldap.BASE_DN,
            "bind_dn": ldap.MANAGER_DN,
            "bind_password_env": "MLPLATFORM_LDAP_BIND_PASSWORD",
            "ca_cert_file": str(ca_cert),
        },
        "users": {
            "backend": "ldap",
            "groups": ["ml-platform-users"],
            "admin_group": "ml-platform-admins",
            "iam_enabled": False,
            "mfa_store": "file",
            "mfa_file": str(folder / "jupyterhub" / "state" / "totp-secrets.json"),
            "audit_log": str(folder / "audit" / "users.jsonl"),
        },
        "efs": {"home_root": str(folder / "jupyterhub" / "home")},
        "metaflow": {
            "datastore_root": datastore_root(),
            "extra": {
                k: v
                for k, v in metaflow_keys.items()
                if k not in {"METAFLOW_DATASTORE_SYSROOT_S3", "METAFLOW_SERVICE_URL"}
            },
        },
    }
    if "metadata" in services:
        profile["metaflow"]["service_url"] = services["metadata"].url
        # The SQL collector reads the service's tables: only where a service writes them.
        profile["metadata"] = {
            "service_url": services["metadata"].url,
            "database_url": services["postgres"].url,
        }
    if "jupyterhub" in services:
        hub_url = services["jupyterhub"].url
        profile["jupyterhub"] = {
            "api_url": f"{hub_url}/hub/api",
            "public_url": f"{hub_url}/",
            "token_env": jupyterhub.TOKEN_ENV,
        }
    header = (
        "# Written by `mlplatform stack up` (rewritten by every up): the local stack in\n"
        f"# {folder}. Secrets are not here: `set -a; . {folder / 'secrets.env'}; set +a`.\n"
    )
    if "metadata" not in services:
        header += (
            "# No metadata service on this machine: runs use Metaflow's local metadata, so\n"
            "# metadata.database_url is left unset (the SQL collector would read an empty\n"
            f"# database). The stack's PostgreSQL: {services['postgres'].url}\n"
        )
    path = home() / "profiles" / f"{PROFILE}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(profile, sort_keys=False))
    mf_path = metaflow_home() / f"config_{PROFILE}.json"
    mf_path.parent.mkdir(parents=True, exist_ok=True)
    mf_path.write_text(json.dumps(metaflow_keys, indent=2, sort_keys=True) + "\n")
    return path, mf_path


def environment(state: StackState) -> dict[str, str]:
    """What a shell needs to use the stack (no secrets): profiles, endpoint, dummy keys."""
    from mlplatform.pipelines.launcher import metaflow_user

    env = {
        "MLPLATFORM_PROFILE": PROFILE,
        "METAFLOW_PROFILE": PROFILE,
        "AWS_ENDPOINT_URL": state.services["s3"].url or "",
        **s3.CREDENTIALS,
    }
    if os.geteuid() == 0:
        env["METAFLOW_USER"] = metaflow_user()
    return env


def secrets_environment(folder: Path) -> dict[str, str]:
    """The secrets the profile names, by variable."""
    secrets_dir = folder / "secrets"
    return {
        "MLPLATFORM_LDAP_BIND_PASSWORD": secret_file(secrets_dir / "ldap-manager-password"),
        jupyterhub.TOKEN_ENV: secret_file(secrets_dir / "jupyterhub-token"),
    }


def write_environment(state: StackState) -> str:
    """`stack.env` and `secrets.env` (0600) in the state folder; the export line to print."""
    env = environment(state)
    exports = "export " + " ".join(f"{k}={v}" for k, v in env.items())
    (state.folder / "stack.env").write_text(exports + "\n")
    secret_lines = "".join(f"{k}={v}\n" for k, v in secrets_environment(state.folder).items())
    write_private(state.folder / "secrets.env", secret_lines)
    return exports


@dataclass
class StatusRow:
    service: str
    pid: int | None
    port: int | None
    state: str  # up | down | not configured | not running
    url: str | None


def status(folder: Path) -> list[StatusRow]:
    state = StackState.load(folder.expanduser().resolve())
    rows: list[StatusRow] = []
    names = ["postgres", "s3", "ldap", "jupyterhub", "metadata"]
    for name in names:
        service = state.services.get(name) if state else None
        if service is None:
            note = state.notes.get(name) if state else None
            shown = NOT_CONFIGURED if name == "metadata" else (note or "down")
            if name == "metadata" and metadata.command() is not None:
                shown = "down"
            rows.append(StatusRow(name, None, None, shown, None))
            continue
        is_up = running(service) and (service.port is None or port_answers(service.port))
        rows.append(
            StatusRow(name, service.pid, service.port, "up" if is_up else "down", service.url)
        )
    return rows


def is_up(folder: Path) -> bool:
    state = StackState.load(folder.expanduser().resolve())
    return bool(state and state.services and all(running(s) for s in state.services.values()))


def down(folder: Path, purge: bool = False) -> list[str]:
    """Stop what `up` started, by PID; the services stopped. `purge` deletes the data too."""
    folder = folder.expanduser().resolve()
    state = StackState.load(folder)
    stopped: list[str] = []
    if state is not None:
        stopped = [n for n in ORDER if n in state.services and running(state.services[n])]
        _stop(state)
        (folder / STATE_FILE).unlink()
    if purge:
        postgres.remove(folder / "postgres")
        shutil.rmtree(folder, ignore_errors=True)
        for path in (
            home() / "profiles" / f"{PROFILE}.yaml",
            metaflow_home() / f"config_{PROFILE}.json",
        ):
            path.unlink(missing_ok=True)
    return stopped
