"""Each user's Metaflow profile, `~/.metaflowconfig/config.json`, built from platform settings.

Terraform outputs the platform values (the `metaflow` settings section); the profile adds who
the user is: `METAFLOW_USER` and the owner/team cost tags. `METAFLOW_BATCH_EMIT_TAGS` must be
"true" or Metaflow silently drops `METAFLOW_BATCH_DEFAULT_TAGS` (Netflix/metaflow#3209).

The file is managed: onboarding rewrites it whenever it differs, so personal settings belong in
a named profile (`config_<name>.json`, selected with `METAFLOW_PROFILE`). Root writes it into a
folder the user controls, so every step goes through descriptors opened with `O_NOFOLLOW`, and
the file is swapped in whole (temporary file, then `os.replace`): Metaflow never reads half.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from mlplatform.errors import PlatformError
from mlplatform.settings import MetaflowProfileSettings, Settings
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.plan import Action, Verb
from mlplatform.users.provision.home import apply_ownership, home_dir, open_dir, ownership_drift

CONFIG_DIR = ".metaflowconfig"
CONFIG_FILE = "config.json"
DIR_MODE = 0o700
FILE_MODE = 0o600
# A plan is printed and audited: values of keys like these never appear in it.
SECRET_LIKE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|AUTH|CREDENTIAL|HEADER", re.IGNORECASE)


def profile_for(
    user: DirectoryUser, team: str, metaflow: MetaflowProfileSettings
) -> dict[str, str]:
    """The profile's keys, only those with a value, sorted."""
    root = metaflow.datastore_root
    values: dict[str, str | None] = {
        "METAFLOW_DEFAULT_METADATA": "service" if metaflow.service_url else None,
        "METAFLOW_SERVICE_URL": metaflow.service_url,
        "METAFLOW_DEFAULT_DATASTORE": "s3" if root else None,
        "METAFLOW_DATASTORE_SYSROOT_S3": root,
        # Metaflow's own default, written out so `metaflow configure show` tells the truth.
        "METAFLOW_DATATOOLS_S3ROOT": f"{root.rstrip('/')}/data" if root else None,
        "METAFLOW_BATCH_JOB_QUEUE": metaflow.batch_job_queue,
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": metaflow.batch_job_role_arn,
        "METAFLOW_SFN_IAM_ROLE": metaflow.sfn_role_arn,
        **metaflow.extra,
        # Last, so `extra` cannot change whom runs and their cost are attributed to.
        "METAFLOW_USER": user.username,
        "METAFLOW_BATCH_EMIT_TAGS": "true",
        "METAFLOW_BATCH_DEFAULT_TAGS": json.dumps(
            {"owner": user.username, "team": team}, sort_keys=True
        ),
    }
    return {key: value for key, value in sorted(values.items()) if value}


def render(profile: Mapping[str, str]) -> str:
    return json.dumps(dict(profile), indent=2, sort_keys=True) + "\n"


def describe_changes(old: Mapping[str, object], new: Mapping[str, str]) -> str:
    """`+KEY=value`, `-KEY`, `KEY: old → new`; values of secret-like keys are never shown."""
    parts = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        hidden = bool(SECRET_LIKE.search(key))
        if key not in old:
            parts.append(f"+{key}" if hidden else f"+{key}={after}")
        elif key not in new:
            parts.append(f"-{key}")
        else:
            parts.append(f"{key} changed" if hidden else f"{key}: {before} → {after}")
    return ", ".join(parts)


class MetaflowProfileProvisioner:
    """Owns `<home>/.metaflowconfig/config.json`; offboarding leaves it with the archived home."""

    component = "metaflow-profile"

    def __init__(self, settings: Settings, home_root: Path) -> None:
        self.metaflow = settings.metaflow
        self.home_root = Path(home_root)

    def plan_onboard(self, spec: UserSpec, user: DirectoryUser) -> list[Action]:
        home = home_dir(self.home_root, user.username)
        profile = profile_for(user, spec.team, self.metaflow)
        folder, path = home / CONFIG_DIR, home / CONFIG_DIR / CONFIG_FILE
        if not os.path.lexists(folder):
            return [self._action("create", path, f"{len(profile)} keys", user, profile)]
        if not stat.S_ISDIR(folder.lstat().st_mode):
            raise PlatformError(
                f"{folder} is not a folder (a symlink or a file)",
                "move it aside and re-run onboarding, which recreates it",
            )
        ids = (user.uid_number, user.gid_number)
        drift = ownership_drift(folder.lstat(), *ids, DIR_MODE)
        if not os.path.lexists(path):
            return [self._action("create", path, f"{len(profile)} keys", user, profile)]
        current = path.lstat()
        if not stat.S_ISREG(current.st_mode):
            drift.append("not a regular file, replaced")
        else:
            drift += ownership_drift(current, *ids, FILE_MODE)
            text = self._read(path)
            if text != render(profile):
                drift.append(describe_changes(self._parse(text), profile) or "formatting")
        return [self._action("update", path, "; ".join(drift), user, profile)] if drift else []

    def plan_offboard(self, user: DirectoryUser) -> list[Action]:
        return []

    def _action(
        self, verb: Verb, path: Path, detail: str, user: DirectoryUser, profile: dict[str, str]
    ) -> Action:
        def run() -> None:
            self.write(user, profile)

        return Action(self.component, verb, str(path), detail, run)

    @staticmethod
    def _read(path: Path) -> str:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    @staticmethod
    def _parse(text: str) -> dict[str, object]:
        try:
            loaded = json.loads(text)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def write(self, user: DirectoryUser, profile: Mapping[str, str]) -> Path:
        """Create or replace the profile now, owned by the user (folder 0700, file 0600)."""
        home = home_dir(self.home_root, user.username)
        folder = home / CONFIG_DIR
        ids = (user.uid_number, user.gid_number)
        home_fd = open_dir(home, home)
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(CONFIG_DIR, DIR_MODE, dir_fd=home_fd)
            folder_fd = open_dir(CONFIG_DIR, folder, dir_fd=home_fd)
        finally:
            os.close(home_fd)
        try:
            apply_ownership(folder_fd, folder, *ids, DIR_MODE)
            partial = f".{CONFIG_FILE}.{secrets.token_hex(4)}.partial"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(partial, flags, FILE_MODE, dir_fd=folder_fd)
            try:
                apply_ownership(fd, folder / CONFIG_FILE, *ids, FILE_MODE)
                with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as handle:
                    handle.write(render(profile))
                    handle.flush()
                    os.fsync(fd)
                os.replace(partial, CONFIG_FILE, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            except BaseException:
                os.unlink(partial, dir_fd=folder_fd)
                raise
            finally:
                os.close(fd)
        finally:
            os.close(folder_fd)
        return folder / CONFIG_FILE
