"""EFS: mounted where configured, over NFS 4, with the mount options the brief prescribes.

The options are AWS's recommended ones: 1 MiB reads and writes, `hard` so a slow server never
corrupts a write, `timeo=600,retrans=2` before an error, and `noresvport` so a reconnect after
a network blip picks a new port instead of hanging.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.settings import Settings

MOUNTINFO = Path("/proc/self/mountinfo")
REQUIRED_OPTIONS = (
    "rsize=1048576",
    "wsize=1048576",
    "hard",
    "timeo=600",
    "retrans=2",
    "noresvport",
)


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fs_type: str
    source: str
    options: frozenset[str]


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in paths as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def read_mounts(mountinfo: Path = MOUNTINFO) -> list[Mount]:
    """Mounts from a mountinfo file (proc(5)): per-mount and superblock options merged, since
    NFS reports rsize, timeo and the like among the superblock options."""
    mounts = []
    for line in mountinfo.read_text().splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 6 or len(tail) < 3:
            continue
        options = set(fields[5].split(",")) | set(tail[2].split(","))
        mounts.append(Mount(_unescape(fields[4]), tail[0], _unescape(tail[1]), frozenset(options)))
    return mounts


def check_mount(mount_point: str, mountinfo: Path = MOUNTINFO) -> Finding:
    wanted = os.path.normpath(mount_point)
    matches = [m for m in read_mounts(mountinfo) if m.mount_point == wanted]
    if not matches:
        return Finding.failed(
            f"EFS is not mounted at {wanted}",
            f"no entry for {wanted} in {mountinfo}",
            action=f"mount it: sudo mount -a (the fstab entry from the efs role), then ls {wanted}",
        )
    mount = matches[-1]  # the last one mounted over the path is the one in use
    details = [f"{mount.source} on {wanted} type {mount.fs_type}"]
    problems = []
    if mount.fs_type != "nfs4":
        problems.append(f"{wanted} is {mount.fs_type}, not nfs4")
    missing = [o for o in REQUIRED_OPTIONS if o not in mount.options]
    if missing:
        problems.append(f"{wanted} lacks mount options {','.join(missing)}")
    details.append("options: " + ",".join(sorted(mount.options)))
    if problems:
        return Finding.failed(
            "; ".join(problems),
            *details,
            action=f"remount with -o {','.join(REQUIRED_OPTIONS)} (fix the fstab entry)",
        )
    return Finding.passed(f"EFS mounted at {wanted} over nfs4 with the required options", *details)


def _run(settings: Settings) -> Finding:
    if not settings.efs.mount_point:
        return Finding.not_configured("no EFS mount: efs.mount_point is not set")
    return check_mount(settings.efs.mount_point)


CHECK = Check(
    id="efs",
    title="EFS mount",
    checks="efs.mount_point is an nfs4 mount with rsize=1048576,wsize=1048576,hard,timeo=600,"
    "retrans=2,noresvport.",
    action="Mount EFS with the fstab entry the efs Ansible role writes, then re-run.",
    severity=Severity.CRITICAL,
    time_to_resolve="15 minutes",
    run=_run,
)
