"""Every change the user manager makes, one JSON object per line.

Appended with a single `write` per record (atomic for lines under PIPE_BUF on POSIX), so two
admins running `mlplatform users` at once interleave records, never characters. Records hold
names and outcomes only: no password, token or TOTP secret ever reaches this file.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlplatform.settings import Settings, home
from mlplatform.users.plan import Action


def audit_path(settings: Settings) -> Path:
    configured = settings.users.audit_log
    return Path(configured).expanduser() if configured else home() / "audit" / "users.jsonl"


class AuditLog:
    def __init__(self, path: Path, operation: str) -> None:
        self.path = path
        self.operation = operation
        self.actor = _actor()

    def record(
        self, username: str, outcome: str, action: Action | None = None, **extra: Any
    ) -> None:
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "actor": self.actor,
            "operation": self.operation,
            "username": username,
            "outcome": outcome,
        }
        if action is not None:
            entry |= {
                "component": action.component,
                "verb": action.verb,
                "target": action.target,
                "detail": action.detail,
            }
        entry |= extra
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read_audit(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())
