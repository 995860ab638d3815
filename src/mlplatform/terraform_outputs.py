"""The Terraform outputs that configure a machine, read from `terraform output -json` and checked.

`terraform output -json` in `deploy/terraform/envs/<env>` prints every output as
`{"value": ..., "type": ..., "sensitive": ...}`. Two of them matter: `metaflow_profile_json`, the
operator's Metaflow profile as a JSON string (Outerbounds' convention), and `platform_settings`,
mlplatform settings sections, checked here against the settings model. `environment` names the
environment when there is one.

Profiles name secrets and never hold them, so a key or value that looks like a secret, a `*_env`
setting that is not a variable name, or a `*_secret` one that is not a Secrets Manager id is
refused. Every error is one line naming the file, the output and the field.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mlplatform.errors import PlatformError, SettingsError
from mlplatform.settings import Settings

PROFILE_OUTPUT = "metaflow_profile_json"
SETTINGS_OUTPUT = "platform_settings"
ENVIRONMENT_OUTPUT = "environment"

# Who runs is set per user (the user manager, the hub): a platform-wide value would put every
# user's runs and costs on one name.
PER_USER_KEYS = frozenset({"METAFLOW_USER", "METAFLOW_HOME"})
# METAFLOW_KUBERNETES_SECRETS names Kubernetes secrets and passes: only a whole word counts.
SECRET_KEY = re.compile(
    r"(^|_)(PASSWORD|PASSWD|TOKEN|SECRET|CREDENTIALS?|AUTH|HEADERS?)(_|$)|_KEY$"
)
# An AWS access key id, a private key, a Slack webhook, a URL carrying a password.
SECRET_VALUE = re.compile(
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY|hooks\.slack\.com/services/"
    r"|://[^/\s:@]+:[^/\s@]+@"
)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_ID = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+"
    r"|[A-Za-z0-9/_+=.@-]{1,512}"
)


@dataclass(frozen=True)
class DeployedPlatform:
    """What one environment's Terraform built, as this machine's profiles need it."""

    environment: str | None
    metaflow_profile: dict[str, Any]  # flat METAFLOW_* (and AWS_*) keys, empty values dropped
    settings: dict[str, dict[str, Any]]  # checked sections, only the keys Terraform set


def read_platform(source: Path) -> DeployedPlatform:
    outputs = read_outputs(source)
    env = outputs.get(ENVIRONMENT_OUTPUT, {}).get("value")
    environment = env if isinstance(env, str) and env else None
    checked = _Outputs(source, outputs, f"deploy/terraform/envs/{environment or '<env>'}")
    return DeployedPlatform(environment, checked.metaflow_keys(), checked.platform_sections())


def read_outputs(source: Path) -> dict[str, dict[str, Any]]:
    """The outputs of `terraform output -json`, each `{"value": ..., ...}`."""
    again = f"run `terraform output -json > {source.name}` in deploy/terraform/envs/<env>"
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlatformError(f"{source}: no such file", again) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlatformError(f"{source}: cannot read it ({exc})", again) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlatformError(f"{source}: not valid JSON ({exc})", again) from None
    if not isinstance(data, dict):
        raise PlatformError(f"{source}: not the output of `terraform output -json`", again)
    for name, output in data.items():
        if not isinstance(output, dict) or "value" not in output:
            raise PlatformError(
                f"{source}: output {name} has no `value`: not the output of "
                "`terraform output -json` (all outputs, not one with -raw)",
                again,
            )
    return data


class _Outputs:
    """The two outputs that matter, checked; errors name the file, the output and the field."""

    def __init__(self, source: Path, outputs: dict[str, dict[str, Any]], env_dir: str) -> None:
        self.source = source
        self.outputs = outputs
        self.env_dir = env_dir

    def _again(self, name: str) -> str:
        return (
            f"fix output {name} in {self.env_dir}, apply, and run "
            f"`terraform output -json > {self.source.name}` there again"
        )

    def _error(self, name: str, problem: str, hint: str | None = None) -> PlatformError:
        return SettingsError(f"{self.source}: output {name}: {problem}", hint or self._again(name))

    def _value(self, name: str) -> Any:
        output = self.outputs.get(name)
        if output is None:
            raise PlatformError(
                f"{self.source}: output {name} missing",
                f"run `terraform output -json > {self.source.name}` in {self.env_dir} "
                "(a configuration from this repository's Terraform outputs it)",
            )
        if output.get("sensitive") is True:
            raise self._error(
                name,
                "marked sensitive, but profiles never hold secrets",
                "keep secrets in Secrets Manager and make the output non-sensitive",
            )
        value = output["value"]
        for where, text in _strings(value, name):
            if SECRET_VALUE.search(text):
                raise self._error(
                    name,
                    f"{where} holds what looks like a secret (a key or a webhook)",
                    "name the secret's environment variable or Secrets Manager id instead",
                )
        return value

    def metaflow_keys(self) -> dict[str, Any]:
        """The Metaflow profile: a flat object of upper-case keys, empty values dropped."""
        name = PROFILE_OUTPUT
        value = self._value(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise self._error(name, f"not a JSON string ({exc})") from None
        if not isinstance(value, dict):
            raise self._error(name, "not a JSON object of METAFLOW_* keys")
        keys: dict[str, Any] = {}
        for key, item in value.items():
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                raise self._error(name, f"key {key!r} is not a Metaflow setting name")
            if SECRET_KEY.search(key):
                raise self._error(
                    name,
                    f"{key} looks like a secret, and profiles never hold secrets",
                    "remove it from the output; hand the secret to people through their "
                    "environment or Secrets Manager",
                )
            if key in PER_USER_KEYS:
                raise self._error(name, f"{key} is set per user by the user manager and the hub")
            if isinstance(item, dict | list):
                raise self._error(name, f"{key} is not a string, number or boolean")
            # An empty value is not "unset" to Metaflow: it would use "" (as a URL, a queue).
            if item is not None and item != "":
                keys[key] = item
        return keys

    def platform_sections(self) -> dict[str, dict[str, Any]]:
        """`platform_settings` checked section by section against the settings model."""
        name = SETTINGS_OUTPUT
        value = self._value(name)
        if not isinstance(value, dict):
            raise self._error(name, "not an object of settings sections")
        sections: dict[str, dict[str, Any]] = {}
        for section, content in value.items():
            if content is None:
                continue  # a section Terraform left unset keeps its defaults
            if section == "metaflow":
                raise self._error(
                    name,
                    "section metaflow comes from metaflow_profile_json",
                    f"remove it from platform_settings in {self.env_dir}",
                )
            model = _section_model(section)
            if isinstance(content, dict):
                # Terraform's way of leaving a key unset: the setting keeps its default.
                content = {key: item for key, item in content.items() if item is not None}
            if model is None:
                near = difflib.get_close_matches(section, Settings.model_fields, n=1)
                did_you_mean = f" (did you mean '{near[0]}'?)" if near else ""
                raise self._error(name, f"unknown section '{section}'{did_you_mean}")
            try:
                checked = model.model_validate(content)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join([section, *(str(part) for part in first["loc"])])
                problem = (
                    "unknown key"
                    if first["type"] == "extra_forbidden"
                    else first["msg"][:1].lower() + first["msg"][1:]
                )
                raise self._error(name, f"{field}: {problem}") from None
            sections[section] = checked.model_dump(mode="json", exclude_unset=True)
            self._check_secret_names(section, sections[section])
        return sections

    def _check_secret_names(self, section: str, content: Mapping[str, Any]) -> None:
        """`*_env` names an environment variable, `*_secret` a Secrets Manager id: no values."""
        for key, item in content.items():
            if not isinstance(item, str):
                continue
            if key.endswith("_env") and not ENV_NAME.fullmatch(item):
                problem = "must name an environment variable, not hold the secret"
            elif key.endswith("_secret") and not SECRET_ID.fullmatch(item):
                problem = "must name a Secrets Manager secret (name or ARN), not hold it"
            else:
                continue
            raise self._error(SETTINGS_OUTPUT, f"{section}.{key} {problem}")


def _section_model(section: str) -> type[BaseModel] | None:
    field = Settings.model_fields.get(section)
    model = field.annotation if field else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string inside `value` (keys too) with a dotted path to it."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield f"{where}.{key}", str(key)
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
