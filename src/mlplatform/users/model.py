"""What the platform knows about a user: the desired state and what a directory holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlplatform.errors import PlatformError
from mlplatform.users.names import validate_group, validate_username
from mlplatform.yamlsafe import load_yaml_file


class UserSpec(BaseModel):
    """One person as the DevOps team describes them (a roster entry or `users add` options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(description="Login name, ^[a-z_][a-z0-9_-]{0,31}$.")
    full_name: str = Field(min_length=1, max_length=200, description="Display name.")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Work e-mail.")
    team: str = Field("unassigned", description="Team, used in cost tags and metrics.")
    groups: tuple[str, ...] = Field((), description="Extra groups, e.g. ml-platform-admins.")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return validate_username(value, where="")

    @field_validator("team")
    @classmethod
    def _team(cls, value: str) -> str:
        return validate_group(value, where="")

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({validate_group(g, where="") for g in value}))

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0]

    @property
    def last_name(self) -> str:
        parts = self.full_name.split()
        return parts[-1] if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class DirectoryUser:
    """A user entry as read back from a directory backend."""

    username: str
    full_name: str
    email: str
    team: str
    uid_number: int
    gid_number: int
    groups: frozenset[str] = field(default_factory=frozenset)
    locked: bool = False


class Roster(BaseModel):
    """`roster.yaml`: `users: [{username, full_name, email, team, groups: [...]}]`."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(1, description="Roster format version.")
    users: list[UserSpec] = Field(description="Everyone who should have platform access.")

    @field_validator("users")
    @classmethod
    def _unique(cls, value: list[UserSpec]) -> list[UserSpec]:
        seen: set[str] = set()
        for user in value:
            if user.username in seen:
                raise ValueError(f"username {user.username!r} is listed twice")
            seen.add(user.username)
        return value


def load_roster(path: Path) -> Roster:
    """Read a roster; a mistake is one line naming `file:line: field`."""
    loaded = load_yaml_file(path)
    try:
        return Roster.model_validate(loaded.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [p for p in first["loc"] if not isinstance(p, str) or p != "__root__"]
        field_path = ".".join(str(p) for p in loc) or "roster"
        message = str(first["msg"]).removeprefix("Value error, ")
        hint = "fix the roster entry (format: users: [{username, full_name, email, team, groups}])"
        error = first.get("ctx", {}).get("error")
        if isinstance(error, PlatformError):
            message, hint = error.headline, error.hint
        raise PlatformError(f"{loaded.where(loc)}: {field_path}: {message}", hint) from None
