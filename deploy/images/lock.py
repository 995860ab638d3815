"""Regenerate `requirements/constraints.txt`, the one lock both images install from.

Run it with the project's virtual environment, whose versions the test suite has proven:

    .venv/bin/python deploy/images/lock.py            # rewrite constraints.txt
    .venv/bin/python deploy/images/lock.py --check    # exit 1 when constraints.txt is stale

pip resolves both images' requirement files, plus the project's build backend (the image
build pins it too, through PIP_CONSTRAINT), with `pip install --dry-run --ignore-installed
--report`, holding every package this environment has to the version installed here. The
report's install list, less the project itself, is the lock: no pip-tools needed. pip uses this
machine's package index configuration, so PyTorch's CPU build must be reachable (the PyTorch CPU
index, or a local wheel) for the resolve to succeed.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REQUIREMENTS = HERE / "requirements"
LOCK = REQUIREMENTS / "constraints.txt"
IMAGES = ("batch.txt", "notebook.txt")
PROJECT = "mlplatform"
# The environment's copies of these came with venv or ensurepip; nothing has tested them.
NOT_HELD = {PROJECT, "pip", "setuptools", "wheel"}
HEADER = """\
# The one lock of deploy/images: every package the batch and notebook images install, pinned.
# Both Dockerfiles install with `-c` this file; the images' tests resolve it with pip.
# Generated: do not edit. Regenerate with the project's virtual environment:
#   .venv/bin/python deploy/images/lock.py
# Resolved for CPython {python} on Linux {machine}, the images' python:3.11-slim base.
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    versions = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical(name) not in NOT_HELD:
            versions[canonical(name)] = dist.version
    return versions


def build_requires() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return list(pyproject["build-system"]["requires"])


def resolve() -> dict[str, str]:
    """Package name -> version of everything either image installs."""
    with tempfile.TemporaryDirectory() as tmp:
        held = Path(tmp) / "installed.txt"
        held.write_text("".join(f"{n}=={v}\n" for n, v in sorted(installed_versions().items())))
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        command += ["--quiet", "--report", str(report), "-c", str(held)]
        for image in IMAGES:
            command += ["-r", str(REQUIREMENTS / image)]
        # `.` in the requirement files is the folder pip runs in: the repository root.
        subprocess.run([*command, *build_requires()], cwd=REPO, check=True)
        installs = json.loads(report.read_text())["install"]
    pins = {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    pins.pop(PROJECT, None)
    return pins


def render(pins: dict[str, str]) -> str:
    header = HEADER.format(python=platform.python_version(), machine=platform.machine())
    return header + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def pins_of(text: str) -> list[str]:
    """The pin lines: the header names the Python patch release, which may differ."""
    return [line for line in text.splitlines() if not line.startswith("#")]


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 11) or sys.platform != "linux":
        print("lock.py: run it with Python 3.11 on Linux, as the images are", file=sys.stderr)
        return 2
    text = render(resolve())
    if "--check" in argv:
        current = LOCK.read_text() if LOCK.exists() else ""
        if pins_of(current) != pins_of(text):
            print(f"{LOCK} is stale: run .venv/bin/python deploy/images/lock.py", file=sys.stderr)
            return 1
        print(f"{LOCK} is up to date")
        return 0
    LOCK.write_text(text)
    print(f"wrote {LOCK} ({len(pins_of(text))} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
