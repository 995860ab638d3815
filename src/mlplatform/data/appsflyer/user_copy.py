"""Per-user copies of raw AppsFlyer data on EFS, for notebook work.

`sync_user` copies chosen reports and days from the raw zone (local or S3) to
`<home root>/<username>/appsflyer/<app_id>/<report>/dt=.../`, creating folders owned by the
user when the account exists on this host. Files already there with the same size are skipped,
so a sync can be repeated cheaply. Usernames are checked first: a name like `../etc` never
becomes a path.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from mlplatform.data.sources import expand, local_copy
from mlplatform.errors import PlatformError
from mlplatform.storage import join

# POSIX portable user names, as useradd and FreeIPA accept them.
USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


@dataclass
class SyncSummary:
    copied: list[str] = field(default_factory=list)
    unchanged: int = 0
    target: str = ""


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username) or username in (".", ".."):
        raise PlatformError(
            f"'{username}' is not a valid username",
            "use lowercase letters, digits, '_', '-' or '.', starting with a letter or '_'",
        )
    return username


def sync_user(
    username: str,
    raw_root: str,
    home_root: str,
    app_id: str,
    reports: list[str],
    first_day: date,
    last_day: date,
    on_file: Callable[[str], None] | None = None,
) -> SyncSummary:
    check_username(username)
    try:
        account: pwd.struct_passwd | None = pwd.getpwnam(username)
    except KeyError:
        account = None  # not on this host (yet): root keeps the files until onboarding fixes it
    target_root = Path(home_root) / username / "appsflyer"
    summary = SyncSummary(target=str(target_root))
    for report in reports:
        day = first_day
        while day <= last_day:
            pattern = join(raw_root, "appsflyer", app_id, report, f"dt={day}", "*")
            try:
                sources = expand([pattern], "raw zone")
            except PlatformError:
                sources = []  # a day with no data is not an error for a copy
            for source in sources:
                relative = Path(app_id) / report / f"dt={day}" / source.rsplit("/", 1)[-1]
                if relative.name.startswith("_"):
                    continue
                target = target_root / relative
                if _copy(local_copy(source), target):
                    summary.copied.append(str(target))
                    if on_file:
                        on_file(str(target))
                else:
                    summary.unchanged += 1
            day += timedelta(days=1)
    _own(target_root, account)
    return summary


def _copy(source: str, target: Path) -> bool:
    if target.exists() and target.stat().st_size == os.path.getsize(source):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with open(source, "rb") as src, open(partial, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(partial, target)
    return True


def _own(root: Path, account: pwd.struct_passwd | None) -> None:
    """Everything under the user's appsflyer folder belongs to the user (when they exist)."""
    if account is None or not root.exists():
        return
    for folder, _dirs, files in os.walk(root):
        os.chown(folder, account.pw_uid, account.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), account.pw_uid, account.pw_gid)
    os.chown(root.parent, account.pw_uid, account.pw_gid)
