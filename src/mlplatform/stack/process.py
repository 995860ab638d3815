"""Processes the stack owns: free ports, readiness polls, stopping by PID, secrets on disk."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from mlplatform.errors import PlatformError

INSTALL_HINT = "apt-get install slapd ldap-utils postgresql"


class ServiceError(PlatformError):
    """A stack service did not start; the headline names the service and its log file."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int | None) -> bool:
    """True while `pid` runs (a zombie child of ours counts as gone)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return False
    return True


def stop_pid(pid: int | None, timeout: float = 20.0, group: bool = False) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL; `group`: the process group it leads too."""
    if not pid_alive(pid):
        return
    assert pid is not None

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        send(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    elif group:  # leftovers of the group (a proxy the hub failed to stop)
        send(signal.SIGKILL)


def wait_until(
    ready: Callable[[], bool],
    service: str,
    log: Path,
    timeout: float,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `ready` until true; on timeout or death, one line naming the service and its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise ServiceError(f"{service} exited while starting", f"see its log: {log}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    raise ServiceError(f"{service} was not ready after {timeout:.0f} s", f"see its log: {log}")


def launch(
    command: list[str],
    service: str,
    log: Path,
    ready: Callable[[], bool],
    timeout: float,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stop: Callable[[int], None] | None = None,
) -> int:
    """Start `command` in its own session, output appended to `log`, and wait until `ready`.

    Its own session, so `down` can stop it and its children by PID after this process is gone.
    If it dies or is not ready in time, it is stopped (by `stop`, default `stop_pid`) and one
    line names the service and its log."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_until(ready, service, log, timeout, alive=lambda: proc.poll() is None)
    except BaseException:
        (stop or stop_pid)(proc.pid)
        raise
    return proc.pid


def secret_file(path: Path) -> str:
    """The secret in `path`, created (mode 0600) on first use: restarts keep their passwords."""
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
