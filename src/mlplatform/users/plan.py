"""A plan is the list of changes onboarding, offboarding or a sync would make, in order.

Each provisioner looks at the current state of the thing it owns and proposes only what is
missing or wrong, so applying a plan twice changes nothing the second time and a run that
stopped half-way is finished by the next one. The CLI prints a plan like `terraform plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from mlplatform.users.model import DirectoryUser, UserSpec

Verb = Literal["create", "update", "add", "remove", "lock", "unlock", "archive", "revoke"]

SYMBOLS: dict[str, str] = {
    "create": "+",
    "add": "+",
    "update": "~",
    "unlock": "~",
    "lock": "-",
    "remove": "-",
    "revoke": "-",
    "archive": ">",
}


@dataclass(frozen=True)
class Action:
    """One change: `component` owns it, `target` names what changes, `run` makes it so."""

    component: str
    verb: Verb
    target: str
    detail: str = ""
    run: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)

    def describe(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{SYMBOLS[self.verb]} {self.component}: {self.verb} {self.target}{detail}"


class Provisioner(Protocol):
    """Owns one per-user resource (EFS home, S3/IAM, Metaflow profile, hub account).

    `user` is the directory entry once it exists (its uid/gid), `spec` the desired state.
    Planning only reads; a provisioner that cannot read its state raises `PlatformError`.
    """

    component: str

    def plan_onboard(self, spec: UserSpec, user: DirectoryUser) -> list[Action]: ...

    def plan_offboard(self, user: DirectoryUser) -> list[Action]: ...
