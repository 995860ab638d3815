"""The user's EFS home `<root>/<user>`: created when missing, owned by the user, mode 0700.

Onboarding runs as root on a host that mounts the home root, and a home is writable by its
user. So root never follows a link the user could have planted: a home that is a symlink or
resolves outside the root is refused, and owners and modes are set through file descriptors
opened with `O_NOFOLLOW` — otherwise a user could have root chown any file on the host.
Nothing here deletes a home; offboarding archives it (that is the AWS provisioner's job).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mlplatform.errors import PlatformError
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.names import validate_username
from mlplatform.users.plan import Action, Verb

HOME_MODE = 0o700


def home_dir(root: Path, username: str) -> Path:
    """`<root>/<username>`; refused when it is a symlink or would land outside `root`."""
    validate_username(username)
    path = Path(root) / username
    if path.is_symlink() or path.resolve().parent != Path(root).resolve():
        raise PlatformError(
            f"home {path} is a link or lies outside the home root {root}",
            "move it aside: a home must be a real folder directly under the home root",
        )
    return path


def ownership_drift(st: os.stat_result, uid: int, gid: int, mode: int) -> list[str]:
    """How `st` differs from owner `uid:gid` and permission bits `mode` (empty: no drift)."""
    drift = []
    if (st.st_uid, st.st_gid) != (uid, gid):
        drift.append(f"owner {st.st_uid}:{st.st_gid} → {uid}:{gid}")
    if stat.S_IMODE(st.st_mode) != mode:
        drift.append(f"mode {stat.S_IMODE(st.st_mode):04o} → {mode:04o}")
    return drift


def open_dir(path: Path | str, where: Path, dir_fd: int | None = None) -> int:
    """A descriptor for the folder `path` (relative to `dir_fd`), never through a symlink."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise PlatformError(
                f"{where} does not exist", "re-run onboarding, which creates it first"
            ) from None
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise PlatformError(
                f"{where} is not a folder (a symlink or a file)",
                "move it aside and re-run onboarding, which recreates it",
            ) from None
        raise PlatformError(
            f"cannot open {where}: {exc.strerror}",
            "run onboarding as root on a host that mounts the home root",
        ) from None


def apply_ownership(fd: int, where: Path, uid: int, gid: int, mode: int) -> None:
    """Give the open file `fd` to `uid:gid` with `mode`; a refusal says how to run instead."""
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    except PermissionError:
        raise PlatformError(
            f"not allowed to give {where} to {uid}:{gid} with mode {mode:04o}",
            "run onboarding as root on a host that mounts the home root (EFS), "
            "or fix it by hand with chown and chmod",
        ) from None


class HomeProvisioner:
    """Owns `<root>/<user>`; never deletes one, so offboarding plans nothing here."""

    component = "home"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def plan_onboard(self, spec: UserSpec, user: DirectoryUser) -> list[Action]:
        if not self.root.is_dir():
            raise PlatformError(
                f"home root {self.root} does not exist",
                "mount the EFS file system there, or set efs.home_root "
                "(MLPLATFORM_EFS__HOME_ROOT) to where it is mounted",
            )
        path = home_dir(self.root, user.username)
        wanted = f"owner {user.uid_number}:{user.gid_number}, mode {HOME_MODE:04o}"
        if not path.exists():
            return [self._action("create", path, wanted, user)]
        if not path.is_dir():
            raise PlatformError(
                f"home {path} exists but is not a folder", "move it aside and re-run onboarding"
            )
        drift = ownership_drift(path.lstat(), user.uid_number, user.gid_number, HOME_MODE)
        return [self._action("update", path, ", ".join(drift), user)] if drift else []

    def plan_offboard(self, user: DirectoryUser) -> list[Action]:
        return []

    def _action(self, verb: Verb, path: Path, detail: str, user: DirectoryUser) -> Action:
        def run() -> None:
            self.ensure(user)

        return Action(self.component, verb, str(path), detail, run)

    def ensure(self, user: DirectoryUser) -> Path:
        """Create or repair the home now; safe to call again (used by other provisioners)."""
        # Checked again, not reused from planning: the tree may have changed in between.
        path = home_dir(self.root, user.username)
        try:
            path.mkdir(mode=HOME_MODE, exist_ok=True)
        except OSError as exc:
            raise PlatformError(
                f"cannot create home {path}: {exc.strerror}",
                "run onboarding as root on a host that mounts the home root",
            ) from None
        fd = open_dir(path, path)
        try:
            apply_ownership(fd, path, user.uid_number, user.gid_number, HOME_MODE)
        finally:
            os.close(fd)
        return path
