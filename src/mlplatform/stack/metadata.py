"""The Metaflow metadata service: started only when one is installed on this machine.

Netflix's metaflow-service is not on the package registries (it installs from its source
repository), so on most machines there is none and the stack uses Metaflow's local metadata;
`status` then says "not configured". When its `metadata_service` command is on PATH, the stack
starts it against its PostgreSQL with the environment the service documents
(`MF_METADATA_DB_HOST/PORT/NAME/USER/PSWD`, `MF_METADATA_HOST/PORT`); the service's schema
migrations are its own business (its migration service), not the stack's.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

from mlplatform.stack.postgres import DATABASE, ROLE
from mlplatform.stack.process import launch

COMMAND = "metadata_service"


def command() -> str | None:
    return shutil.which(COMMAND)


def start(
    folder: Path, port: int, db_port: int, db_password: str, timeout: float
) -> tuple[int, str]:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "metadata.log"
    env = dict(os.environ) | {
        "MF_METADATA_DB_HOST": "127.0.0.1",
        "MF_METADATA_DB_PORT": str(db_port),
        "MF_METADATA_DB_NAME": DATABASE,
        "MF_METADATA_DB_USER": ROLE,
        "MF_METADATA_DB_PSWD": db_password,
        "MF_METADATA_DB_SSL_MODE": "require",
        "MF_METADATA_HOST": "127.0.0.1",
        "MF_METADATA_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(url + "/ping", timeout=2) as reply:
            return bool(reply.status == 200)

    return launch([command() or COMMAND], "metadata service", log, ready, timeout, env=env), url
