"""local: this machine's Python and Metaflow, the Metaflow profile in use, and where the
values that decide where runs go come from.

Metaflow reads a setting from the `METAFLOW_<NAME>` environment variable first, then from the
profile file `$METAFLOW_HOME/config_<METAFLOW_PROFILE>.json` (or `config.json` without a
profile; home `~/.metaflowconfig`), then its built-in default (`metaflow_config_funcs.py`).
"A run went to the wrong bucket" is nearly always a stray variable shadowing the profile.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.settings import Settings

# The keys that decide where metadata, artifacts and Batch jobs go, with Metaflow's defaults.
KEYS: dict[str, str | None] = {
    "METAFLOW_DEFAULT_METADATA": "local",
    "METAFLOW_SERVICE_URL": None,
    "METAFLOW_DEFAULT_DATASTORE": "local",
    "METAFLOW_DATASTORE_SYSROOT_S3": None,
    "METAFLOW_BATCH_JOB_QUEUE": None,
}


def profile_file() -> Path:
    home = os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")
    profile = os.environ.get("METAFLOW_PROFILE")
    name = f"config_{profile}.json" if profile else "config.json"
    return Path(home, name).expanduser()


def _read_profile(path: Path) -> dict[str, Any]:
    """The profile's mapping; {} when there is no file and none was asked for."""
    if not path.exists():
        if os.environ.get("METAFLOW_PROFILE"):
            raise ValueError(f"METAFLOW_PROFILE names {path}, which does not exist")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object of METAFLOW_* keys")
    return data


def sources(profile: dict[str, Any], path: Path) -> list[str]:
    """One line per key: its effective value and where it comes from."""
    lines = []
    for key, default in KEYS.items():
        if key in os.environ:
            value, origin = os.environ[key], "environment variable"
        elif key in profile:
            value, origin = str(profile[key]), f"profile {path}"
        else:
            value, origin = str(default) if default else "(unset)", "Metaflow default"
        lines.append(f"{key} = {value} (from {origin})")
    return lines


def run(settings: Settings) -> Finding:
    python = f"Python {platform.python_version()}"
    try:
        metaflow = f"Metaflow {metadata.version('metaflow')}"
    except metadata.PackageNotFoundError:
        return Finding.failed(
            f"{python}, Metaflow is not installed in this environment",
            action="install mlplatform (it pins Metaflow) into this Python: pip install mlplatform",
        )
    path = profile_file()
    try:
        profile = _read_profile(path)
    except ValueError as exc:
        return Finding.failed(
            f"{python}, {metaflow}; Metaflow profile unusable: {exc}",
            action="fix or re-import the profile (`metaflow configure import <file>`) or unset "
            "METAFLOW_PROFILE; every Metaflow command fails until then",
        )
    used = str(path) if path.exists() else "none (Metaflow defaults)"
    metadata_kind = os.environ.get(
        "METAFLOW_DEFAULT_METADATA", profile.get("METAFLOW_DEFAULT_METADATA", "local")
    )
    return Finding.passed(
        f"{python}, {metaflow}, {metadata_kind} metadata, profile {used}",
        f"profile: {path}{'' if path.exists() else ' (absent)'}",
        *sources(profile, path),
    )


CHECK = Check(
    id="local",
    title="This machine",
    checks="Python and Metaflow versions, the Metaflow profile in use and where its values "
    "come from.",
    action="fix the Metaflow profile named in the details, or the environment variable that "
    "shadows it",
    severity=Severity.WARNING,
    time_to_resolve="10 minutes",
    run=run,
)
