"""What the directory needs for a user to match their spec: entry, lock state, groups.

This is the one component every other one depends on (homes are owned by the uid it holds),
so the manager plans and applies it first. Number allocation happens here: the next free
uid/gid in the configured range, unless the directory assigns numbers itself (FreeIPA).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from mlplatform.errors import PlatformError
from mlplatform.settings import UsersSettings
from mlplatform.users.directory.base import Directory
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.plan import Action

# FreeIPA puts every user in `ipausers`; removing them from it breaks IPA's own policies.
_NEVER_REMOVE = frozenset({"ipausers"})
UNASSIGNED = -1


class DirectoryPlanner:
    component = "directory"

    def __init__(self, directory: Directory, settings: UsersSettings) -> None:
        self.directory = directory
        self.settings = settings
        self._taken: set[int] | None = None
        self._groups_planned: set[str] = set()

    def desired_groups(self, spec: UserSpec) -> set[str]:
        return set(self.settings.groups) | set(spec.groups)

    def plan_onboard(
        self, spec: UserSpec, current: DirectoryUser | None, managed: Iterable[str] = ()
    ) -> tuple[list[Action], DirectoryUser]:
        """Actions, and the user as they will be once applied (uid -1: the server assigns).

        `managed`: groups the caller owns completely (a roster sync); memberships of those
        that the spec does not list are removed. Other groups are never touched.
        """
        actions: list[Action] = []
        if current is None:
            uid = None if self.directory.assigns_ids else self._allocate()
            number = "assigned by the directory" if uid is None else f"uid/gid {uid}"
            actions.append(
                Action(
                    self.component,
                    "create",
                    spec.username,
                    f"{spec.full_name}, team {spec.team}, {number}",
                    run=lambda: self.directory.create_user(spec, uid),
                )
            )
            current = DirectoryUser(
                spec.username,
                spec.full_name,
                spec.email,
                spec.team,
                UNASSIGNED if uid is None else uid,
                UNASSIGNED if uid is None else uid,
            )
        else:
            changed = [
                name
                for name, have, want in (
                    ("full name", current.full_name, spec.full_name),
                    ("e-mail", current.email, spec.email),
                    ("team", current.team, spec.team),
                )
                if have != want
            ]
            if changed:
                actions.append(
                    Action(
                        self.component,
                        "update",
                        spec.username,
                        ", ".join(changed),
                        run=lambda: self.directory.update_user(spec),
                    )
                )
            if current.locked:
                actions.append(
                    Action(
                        self.component,
                        "unlock",
                        spec.username,
                        "account was disabled",
                        run=lambda: self.directory.set_locked(spec.username, False),
                    )
                )
        desired = self.desired_groups(spec)
        for group in sorted(desired - current.groups):
            actions.extend(self._ensure_group(group))
            actions.append(self._membership("add", group, spec.username))
        for group in sorted((current.groups & set(managed)) - desired - _NEVER_REMOVE):
            actions.append(self._membership("remove", group, spec.username))
        return actions, current

    def plan_offboard(self, user: DirectoryUser) -> list[Action]:
        actions = []
        if not user.locked:
            actions.append(
                Action(
                    self.component,
                    "lock",
                    user.username,
                    "login refused from now on",
                    run=lambda: self.directory.set_locked(user.username, True),
                )
            )
        for group in sorted(user.groups - _NEVER_REMOVE):
            actions.append(self._membership("remove", group, user.username))
        return actions

    def _membership(self, verb: Literal["add", "remove"], group: str, username: str) -> Action:
        change = self.directory.add_member if verb == "add" else self.directory.remove_member
        return Action(
            "group", verb, group, f"member {username}", run=lambda: change(group, username)
        )

    def _ensure_group(self, group: str) -> list[Action]:
        if group in self._groups_planned or self.directory.group_exists(group):
            return []
        self._groups_planned.add(group)
        gid = None if self.directory.assigns_ids else self._allocate()
        detail = "gid assigned by the directory" if gid is None else f"gid {gid}"
        return [
            Action(
                "group",
                "create",
                group,
                detail,
                run=lambda: self.directory.create_group(group, gid),
            )
        ]

    def _allocate(self) -> int:
        if self._taken is None:
            self._taken = set(self.directory.used_ids())
        for number in range(self.settings.id_range_start, self.settings.id_range_end + 1):
            if number not in self._taken:
                self._taken.add(number)
                return number
        raise PlatformError(
            f"no free uid/gid number left in {self.settings.id_range_start}-"
            f"{self.settings.id_range_end}",
            "widen users.id_range_end in the profile",
        )
