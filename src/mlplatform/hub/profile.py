"""The user's Metaflow profile, put into their notebook server's environment at spawn.

The hub (root in production) reads a file in a folder the user can write. So the file must be
reached without symlinks, be a regular file owned by the user, root or the hub, and small; only
`METAFLOW_*` keys are taken, and never the two the hub sets itself. A file that fails a check
is skipped with a warning: the server still starts, without the profile.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from mlplatform.errors import PlatformError

PROFILE_FILE = "config.json"  # Metaflow's name for the default profile in METAFLOW_HOME
MAX_BYTES = 256_000
_KEY = re.compile(r"METAFLOW_[A-Z0-9_]+")
HUB_OWNED_KEYS = frozenset({"METAFLOW_USER", "METAFLOW_HOME"})


def read_profile(path: Path, home: Path) -> dict[str, str]:
    """The profile's METAFLOW_* keys as environment strings; {} when there is no profile."""
    if not path.exists():
        return {}
    if os.path.realpath(path) != os.path.abspath(path):
        raise PlatformError(f"{path}: reached through a symlink", "replace it with a plain file")
    try:
        # O_NONBLOCK: a FIFO planted here would otherwise hang the hub on open().
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise PlatformError(f"{path}: cannot open ({exc.strerror})", "check its owner") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        owners = {0, os.geteuid(), home.stat().st_uid}
        if not stat.S_ISREG(info.st_mode) or info.st_uid not in owners:
            raise PlatformError(
                f"{path}: not a regular file owned by the user",
                "let `mlplatform users` rewrite the profile",
            )
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise PlatformError(f"{path}: larger than {MAX_BYTES} bytes", "rewrite the profile")
    try:
        data = json.loads(raw)
    except ValueError:
        raise PlatformError(f"{path}: not valid JSON", "rewrite the profile") from None
    if not isinstance(data, dict):
        raise PlatformError(f"{path}: not a JSON object", "rewrite the profile")
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in data.items()
        if isinstance(key, str) and _KEY.fullmatch(key) and key not in HUB_OWNED_KEYS
    }


class ProfileEnvironment:
    """Spawner environment values and the pre-spawn hook that loads the profile."""

    def __init__(self, home_root: str, profile_dir: str) -> None:
        self.home_root = Path(home_root)
        self.profile_dir = profile_dir

    def home(self, username: str) -> Path:
        return self.home_root / username

    def metaflow_home(self, spawner: Any) -> str:
        """METAFLOW_HOME: Metaflow reads config.json from this folder."""
        return str(self.home(spawner.user.name) / self.profile_dir)

    @staticmethod
    def metaflow_user(spawner: Any) -> str:
        """METAFLOW_USER: the hub's login name, so runs are attributed to who ran them."""
        return str(spawner.user.name)

    def pre_spawn_hook(self, spawner: Any) -> None:
        name = spawner.user.name
        try:
            keys = read_profile(Path(self.metaflow_home(spawner)) / PROFILE_FILE, self.home(name))
        except (PlatformError, OSError) as exc:
            headline = exc.one_line() if isinstance(exc, PlatformError) else repr(exc)
            spawner.log.warning("%s: Metaflow profile not loaded: %s", name, headline)
            keys = {}
        # A new dict rather than update(): the configured dict may be shared by every spawner,
        # and updating it in place would hand this user's profile to the next one.
        spawner.environment = {**keys, **spawner.environment}
