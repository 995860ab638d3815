"""PostgreSQL with TLS on: a cluster of the stack's own, started with `pg_ctl`, stopped by PID.

PostgreSQL refuses to run as root, so as root every server command runs as the `postgres`
user (`runuser -u postgres --`), and the cluster lives where that user can reach it: a
postgres-owned folder under /var/tmp named after the state folder (a home folder is mode 0700),
linked from the state folder. TCP connections must use TLS (`hostssl` + scram-sha-256; plain
connections are rejected); the platform's role `mlplatform` owns the `metaflow` database and its
password lives in a libpq password file (mode 0600) that the connection URL names.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mlplatform.stack.process import (
    INSTALL_HINT,
    PlatformError,
    ServiceError,
    secret_file,
    stop_pid,
    wait_until,
    write_private,
)
from mlplatform.stack.tls import TlsFiles

SUPERUSER = "postgres"
ROLE = "mlplatform"
DATABASE = "metaflow"


@dataclass(frozen=True)
class PgStarted:
    pid: int
    port: int
    url: str  # no password in it: `passfile` names the file that holds it
    cluster: Path
    log: Path


def bindir() -> Path | None:
    """Where initdb/pg_ctl live: PATH, else `pg_config --bindir`, else Debian's layout."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "pg_ctl").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _as_root() -> bool:
    return os.geteuid() == 0


def cluster_dir(folder: Path) -> Path:
    """Where the cluster lives: `folder` itself, or as root a postgres-owned folder."""
    if not _as_root():
        return folder
    tag = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"mlplatform-stack-pg-{tag}"


def _run(command: list[str], log: Path) -> None:
    name = Path(command[0]).name
    if _as_root():
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True)
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise ServiceError(
            f"postgres: {name} failed (exit {done.returncode})",
            f"see its log: {log}",
        )


def _own(path: Path) -> None:
    if _as_root():
        shutil.chown(path, user=SUPERUSER, group=SUPERUSER)


def start(folder: Path, port: int, tls: TlsFiles, secrets_dir: Path, timeout: float) -> PgStarted:
    """Create the cluster on first use, start it on `port` (127.0.0.1 only), TLS required."""
    bins = bindir()
    if bins is None:
        raise PlatformError("PostgreSQL is not installed (initdb, pg_ctl)", INSTALL_HINT)
    base = cluster_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "postgres.log"
    if base != folder:
        base.mkdir(mode=0o700, exist_ok=True)
        _own(base)
        link = folder / "cluster"
        if not link.is_symlink():
            link.symlink_to(base)
        # The server writes its own log, and it must be able to: keep it in the cluster.
        server_log = base / "server.log"
    else:
        server_log = folder / "server.log"
    data = base / "data"
    password = secret_file(secrets_dir / "postgres-password")
    fresh = not (data / "PG_VERSION").is_file()
    if fresh:
        _run([str(bins / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER,
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], log)  # fmt: skip
    # TLS material the server reads: its own copies, owned by it, key mode 0600.
    for source, name in (
        (tls.cert, "server.crt"),
        (tls.key, "server.key"),
        (tls.ca_cert, "ca.crt"),
    ):
        target = data / name
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)
        _own(target)
    (data / "pg_hba.conf").write_text(
        "# Written by `mlplatform stack up`: TLS with a password over TCP, nothing in clear.\n"
        "local   all  all                 trust\n"
        "hostssl all  all  127.0.0.1/32   scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0      reject\n"
    )
    _own(data / "pg_hba.conf")
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c ssl=on "
        "-c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_ca_file=ca.crt "
        "-c password_encryption=scram-sha-256"
    )
    try:
        _run([str(bins / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(server_log),
              "-w", "-t", str(int(max(timeout, 1))), "start"], log)  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        _create_role(base, port, password, log)
    except BaseException:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stop_pid(int((data / "postmaster.pid").read_text().splitlines()[0]), timeout=30)
        raise
    passfile = secrets_dir / "pgpass"
    write_private(passfile, f"127.0.0.1:*:{DATABASE}:{ROLE}:{password}\n")
    url = (
        f"postgresql://{ROLE}@127.0.0.1:{port}/{DATABASE}?sslmode=verify-full"
        f"&sslrootcert={quote(str(tls.ca_cert))}&passfile={quote(str(passfile))}"
    )
    return PgStarted(pid=pid, port=port, url=url, cluster=base, log=server_log)


def _create_role(socket_dir: Path, port: int, password: str, log: Path) -> None:
    """The platform's role and database, over the cluster's socket as the superuser."""
    import psycopg
    from psycopg import sql

    def connect() -> psycopg.Connection:
        return psycopg.connect(
            host=str(socket_dir), port=port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def ready() -> bool:
        connect().close()
        return True

    wait_until(ready, "postgres", log, 30)
    with connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(password)
            )
        )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(ROLE)
                )
            )


def remove(folder: Path) -> None:
    """Delete the cluster (down --purge)."""
    base = cluster_dir(folder)
    if base != folder:
        shutil.rmtree(base, ignore_errors=True)
