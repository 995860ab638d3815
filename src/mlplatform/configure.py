"""`mlplatform configure import`: this machine's profiles, from the deployed platform's outputs.

Two files come from one `terraform output -json` (read and checked by `terraform_outputs`): the
mlplatform profile `$MLPLATFORM_HOME/profiles/<profile>.yaml` and the operator's Metaflow profile
`$METAFLOW_HOME/config_<name>.json`. The Metaflow keys also fill the profile's `metaflow` section,
which the user manager builds every user's Metaflow profile from, so one import serves both.

Both files are planned before either is written, and each is swapped in whole. A file that
exists and differs is replaced only when asked (`force`); an identical one is left untouched,
so a rerun changes nothing. Only the keys Terraform set are written: defaults stay defaults.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from mlplatform import storage
from mlplatform.errors import PlatformError
from mlplatform.settings import MetaflowProfileSettings, home
from mlplatform.terraform_outputs import SECRET_KEY, read_platform

# Metaflow keys that have a field of their own in the `metaflow` settings section; every other
# METAFLOW_* key goes to `metaflow.extra`, which is copied into every user's profile.
METAFLOW_FIELDS = {
    "METAFLOW_SERVICE_URL": "service_url",
    "METAFLOW_DATASTORE_SYSROOT_S3": "datastore_root",
    "METAFLOW_BATCH_JOB_QUEUE": "batch_job_queue",
    "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "batch_job_role_arn",
    "METAFLOW_SFN_IAM_ROLE": "sfn_role_arn",
}
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

HEADER = (
    "# Written by `mlplatform configure import` from the Terraform outputs platform_settings\n"
    "# and metaflow_profile_json: the next import replaces this file (change Terraform instead).\n"
)

State = Literal["create", "update", "unchanged"]


@dataclass(frozen=True)
class PlannedFile:
    """One file the import writes: its new text, and how it differs from what is there."""

    path: Path
    text: str
    current: str | None

    @property
    def state(self) -> State:
        if self.current is None:
            return "create"
        return "unchanged" if self.current == self.text else "update"

    def changes(self) -> list[str]:
        """`+ key = value`, `- key = value`, `~ key: old → new`, one line per key."""
        new = _flatten(_parse(self.path, self.text) or {})
        old = _parse(self.path, self.current or "")
        if old is None:
            return ["~ the current file is not a mapping: replaced whole"]
        old = _flatten(old)
        lines = []
        for key in sorted(old.keys() | new.keys()):
            before, after = old.get(key), new.get(key)
            if before == after:
                continue
            hidden = bool(SECRET_KEY.search(key))
            if key not in old:
                lines.append(f"+ {key} = {_show(after, hidden)}")
            elif key not in new:
                lines.append(f"- {key} = {_show(before, hidden)}")
            else:
                lines.append(f"~ {key}: {_show(before, hidden)} → {_show(after, hidden)}")
        return lines or ["~ same values, different layout or comments"]


@dataclass(frozen=True)
class ImportPlan:
    profile: str
    metaflow_profile: str
    settings_file: PlannedFile
    metaflow_file: PlannedFile

    @property
    def files(self) -> tuple[PlannedFile, PlannedFile]:
        return self.settings_file, self.metaflow_file


def plan_import(
    source: Path, profile: str | None = None, metaflow_profile: str | None = None
) -> ImportPlan:
    """Read and check `source`; say what each file would become. Writes nothing."""
    platform = read_platform(source)
    keys = platform.metaflow_profile
    sections = platform.settings
    sections["metaflow"] = metaflow_section(keys)
    # What mlplatform itself talks to (monitoring, `--on batch`), unless Terraform says otherwise.
    for section, key, metaflow_key in (
        ("metadata", "service_url", "METAFLOW_SERVICE_INTERNAL_URL"),
        ("metadata", "service_url", "METAFLOW_SERVICE_URL"),
        ("s3", "datastore_root", "METAFLOW_DATASTORE_SYSROOT_S3"),
        ("batch", "job_queue", "METAFLOW_BATCH_JOB_QUEUE"),
    ):
        if isinstance(keys.get(metaflow_key), str):
            sections.setdefault(section, {}).setdefault(key, keys[metaflow_key])

    name = _profile_name(profile or platform.environment or "default")
    metaflow_name = _profile_name(metaflow_profile or name)
    settings_path = home() / "profiles" / f"{name}.yaml"
    metaflow_file = "config.json" if metaflow_name == "default" else f"config_{metaflow_name}.json"
    metaflow_path = metaflow_home() / metaflow_file
    settings_text = HEADER + yaml.safe_dump(
        {section: sections[section] for section in sorted(sections) if sections[section]},
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
    )
    metaflow_text = json.dumps(keys, indent=2, sort_keys=True) + "\n"
    return ImportPlan(
        name,
        metaflow_name,
        PlannedFile(settings_path, settings_text, _read_current(settings_path)),
        PlannedFile(metaflow_path, metaflow_text, _read_current(metaflow_path)),
    )


def write_plan(plan: ImportPlan, force: bool = False) -> list[PlannedFile]:
    """Write the files that differ; refuse, writing nothing, if one would replace another's."""
    conflicts = [f for f in plan.files if f.state == "update"]
    if conflicts and not force:
        first = conflicts[0]
        raise PlatformError(
            f"{first.path} exists and differs ({len(first.changes())} change(s) listed above)",
            "rerun with --force to replace it, or choose another --profile/--metaflow-profile",
        )
    written = []
    for planned in plan.files:
        if planned.state != "unchanged":
            storage.write_bytes(str(planned.path), planned.text.encode("utf-8"))
            written.append(planned)
    return written


def metaflow_home() -> Path:
    return Path(os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()


def metaflow_section(keys: Mapping[str, Any]) -> dict[str, Any]:
    """The `metaflow` settings section the user manager builds users' profiles from."""
    section: dict[str, Any] = {
        field: _show(keys[key]) for key, field in METAFLOW_FIELDS.items() if key in keys
    }
    # Metaflow reads only METAFLOW_* keys; the rest (AWS_DEFAULT_REGION) stay the operator's.
    extra = {
        key: _show(value)
        for key, value in keys.items()
        if key.startswith("METAFLOW_") and key not in METAFLOW_FIELDS
    }
    if extra:
        section["extra"] = extra
    return MetaflowProfileSettings.model_validate(section).model_dump(
        mode="json", exclude_unset=True
    )


def _profile_name(name: str) -> str:
    if not PROFILE_NAME.fullmatch(name):
        raise PlatformError(
            f"profile name {name!r} is not usable as a file name",
            "use letters, digits, '.', '_' or '-' (at most 64)",
        )
    return name


def _read_current(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlatformError(f"{path}: cannot read it ({exc})", "check its owner and mode") from None


def _parse(path: Path, text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat |= _flatten(value, f"{dotted}.")
        else:
            flat[dotted] = value
    return flat


def _show(value: Any, hidden: bool = False) -> str:
    if hidden:
        return "(value hidden)"
    return value if isinstance(value, str) else json.dumps(value)
