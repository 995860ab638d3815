"""A throwaway PostgreSQL cluster on loopback, started and stopped with `pg_ctl`.

Recipe from ../shared/reference/test-services.md: `initdb -A trust`, then `pg_ctl start -w` with
the socket in the cluster's own folder and TCP on 127.0.0.1 only, `pg_ctl -m fast stop`.
PostgreSQL refuses to run as root, so as root every command runs as the `postgres` user
(`runuser -u postgres --`) and the cluster lives in a folder that user owns under the system
temp dir: pytest's own folders are mode 0700 and closed to it. Durability settings are off —
the cluster is thrown away, and bulk loads for the benchmark are several times faster.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "postgres"
DATABASE = "postgres"


@dataclass
class PostgresServer:
    url: str
    port: int
    data_dir: Path
    _bindir: Path = field(repr=False)
    _owned_dir: Path | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Fast shutdown (rolls back open sessions), then remove a folder made for the cluster."""
        if self._stopped:
            return
        self._stopped = True
        try:
            _run([str(self._bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"])
        finally:
            if self._owned_dir is not None:
                shutil.rmtree(self._owned_dir, ignore_errors=True)


def _bindir() -> Path:
    """Where initdb/pg_ctl live: PATH, else `pg_config --bindir`, else Debian's layout."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "pg_ctl").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if versions:
        return Path(versions[-1]).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(command: list[str]) -> None:
    if _as_root():
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def _port_answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_self_signed_cert(data_dir: Path) -> None:
    """server.crt/server.key (PostgreSQL's default names) in the data dir, for 127.0.0.1,
    signed by a CA made the way `mlplatform stack` makes its own."""
    from mlplatform.stack.tls import ensure_tls

    tls = ensure_tls(data_dir.parent / "tls")
    for filename, source in (("server.crt", tls.cert), ("server.key", tls.key)):
        path = data_dir / filename
        path.write_bytes(source.read_bytes())
        path.chmod(0o600)  # the server refuses a key others can read
        if _as_root():
            shutil.chown(path, user=SUPERUSER, group=SUPERUSER)


def start_postgres(folder: Path, port: int | None = None, ssl: bool = False) -> PostgresServer:
    """initdb + start a cluster under `folder` (as root: a postgres-owned temp folder).

    `ssl=True` turns TLS on with a self-signed certificate made for the cluster; clients
    with libpq's default sslmode=prefer then connect encrypted.
    """
    bindir = _bindir()
    port = port or _free_port()
    if _port_answers(port):  # another server would answer our connections
        raise RuntimeError(f"port {port} already answers: refusing to start PostgreSQL on it")
    owned: Path | None = None
    if _as_root():
        owned = Path(tempfile.mkdtemp(prefix="mlplatform-pg-"))
        shutil.chown(owned, user=SUPERUSER, group=SUPERUSER)
        base = owned
    else:
        folder.mkdir(parents=True, exist_ok=True)
        base = folder
    data_dir = base / "data"
    try:
        _run([str(bindir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", SUPERUSER,
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])  # fmt: skip
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        if ssl:
            _write_self_signed_cert(data_dir)
            options += " -c ssl=on"
        _run([str(bindir / "pg_ctl"), "-D", str(data_dir), "-o", options,
              "-l", str(base / "server.log"), "-w", "-t", "60", "start"])  # fmt: skip
    except BaseException:
        if owned is not None:
            shutil.rmtree(owned, ignore_errors=True)
        raise
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    return PostgresServer(url=url, port=port, data_dir=data_dir, _bindir=bindir, _owned_dir=owned)
