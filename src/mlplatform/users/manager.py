"""`UserManager`: onboarding, offboarding and roster sync over the directory and provisioners.

Every operation is plan-then-apply. A plan lists only what is missing or wrong, so running
an operation again is safe and finishes whatever a failed run left undone. A component that
fails (S3 down while LDAP is up) does not stop the others; the run reports what is left and
exits non-zero, and every action, done or failed, goes to the JSON audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from mlplatform.errors import PlatformError
from mlplatform.settings import Settings
from mlplatform.users.audit import AuditLog, audit_path
from mlplatform.users.directory import Directory, open_directory
from mlplatform.users.directory.planning import DirectoryPlanner
from mlplatform.users.model import DirectoryUser, Roster, UserSpec
from mlplatform.users.names import validate_username
from mlplatform.users.plan import Action, Provisioner
from mlplatform.users.provision.hub_account import HubAccountProvisioner

Operation = Literal["onboard", "offboard", "disable"]


@dataclass
class UserPlan:
    """What one operation on one user would change; `problems` are components it could not read."""

    username: str
    operation: Operation
    actions: list[Action] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    spec: UserSpec | None = None
    managed_groups: frozenset[str] = frozenset()
    # Onboarding only: the user the component actions were planned for, and those actions
    # per provisioner (None where planning failed), so `apply` need not read everything again.
    planned_for: DirectoryUser | None = None
    stages: list[list[Action] | None] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions and not self.problems


@dataclass
class Outcome:
    username: str
    operation: Operation
    done: list[Action] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class UserManager:
    def __init__(
        self,
        directory: Directory,
        settings: Settings,
        provisioners: list[Provisioner],
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.provisioners = provisioners
        self.planner = DirectoryPlanner(directory, settings.users)

    @classmethod
    def from_settings(cls, settings: Settings) -> UserManager:
        from mlplatform.users.provision.wiring import provisioners_for

        return cls(open_directory(settings), settings, provisioners_for(settings))

    # --- planning -------------------------------------------------------------------------

    def plan_onboard(self, spec: UserSpec, managed: Iterable[str] = ()) -> UserPlan:
        plan = UserPlan(spec.username, "onboard", spec=spec, managed_groups=frozenset(managed))
        current = self.directory.get_user(spec.username)
        actions, future = self.planner.plan_onboard(spec, current, managed)
        plan.actions.extend(actions)
        plan.planned_for = future
        for provisioner in self.provisioners:
            plan.stages.append(
                self._plan_component(
                    plan, provisioner, partial(provisioner.plan_onboard, spec, future)
                )
            )
        return plan

    def plan_offboard(self, username: str, operation: Operation = "offboard") -> UserPlan:
        user = self.existing_user(username)
        plan = UserPlan(username, operation)
        if operation == "disable":  # reversible: lock the account and stop the server only
            plan.actions.extend(a for a in self.planner.plan_offboard(user) if a.verb == "lock")
            for provisioner in self.provisioners:
                if isinstance(provisioner, HubAccountProvisioner):
                    self._plan_component(plan, provisioner, partial(provisioner.plan_stop, user))
            return plan
        plan.actions.extend(self.planner.plan_offboard(user))
        # Reverse onboarding order: the hub server stops before its home is archived.
        for provisioner in reversed(self.provisioners):
            self._plan_component(plan, provisioner, partial(provisioner.plan_offboard, user))
        return plan

    def plan_sync(self, roster: Roster) -> list[UserPlan]:
        """Onboard or repair everyone on the roster; offboard platform users who left it."""
        managed = {*self.settings.users.groups, self.settings.users.admin_group}
        managed |= {group for user in roster.users for group in user.groups}
        wanted = {user.username for user in roster.users}
        plans = [self.plan_onboard(user, managed) for user in roster.users]
        for user in self.directory.list_users():
            if user.username in wanted:
                continue
            # Only platform users are ours to offboard: the directory holds other people too.
            if user.groups & managed:
                plans.append(self.plan_offboard(user.username))
        return [plan for plan in plans if not plan.empty]

    def _plan_component(
        self, plan: UserPlan, provisioner: Provisioner, planner: Callable[[], list[Action]]
    ) -> list[Action] | None:
        try:
            actions = planner()
        except PlatformError as exc:
            plan.problems.append((provisioner.component, exc.one_line()))
            return None
        plan.actions.extend(actions)
        return actions

    def existing_user(self, username: str) -> DirectoryUser:
        validate_username(username)
        user = self.directory.get_user(username)
        if user is None:
            raise PlatformError(
                f"no user {username!r} in {self.directory.describe()}",
                "check the name with `mlplatform users list`",
            )
        return user

    # --- applying -------------------------------------------------------------------------

    def apply(self, plan: UserPlan) -> Outcome:
        """Make the plan so, component by component; a failed component does not stop the rest.

        Onboarding applies the directory first. If the entry then holds other numbers than
        the plan assumed (the directory assigned them, or someone took the uid meanwhile), the
        other components are planned again for the real uid/gid; otherwise the plan stands.
        """
        audit = AuditLog(audit_path(self.settings), plan.operation)
        outcome = Outcome(plan.username, plan.operation)
        if plan.operation != "onboard" or plan.spec is None:
            self._run(plan.actions, outcome, audit)
            for component, message in plan.problems:
                self._fail(outcome, audit, component, message)
            return outcome
        directory_actions = [a for a in plan.actions if a.component in ("directory", "group")]
        if not self._run(directory_actions, outcome, audit, stop_on_failure=True):
            return outcome
        user = self.existing_user(plan.username)
        planned = plan.planned_for
        replan = planned is None or (planned.uid_number, planned.gid_number) != (
            user.uid_number,
            user.gid_number,
        )
        for index, provisioner in enumerate(self.provisioners):
            actions = None if replan or index >= len(plan.stages) else plan.stages[index]
            if actions is None:  # not planned yet, or planning failed: try again now
                try:
                    actions = provisioner.plan_onboard(plan.spec, user)
                except PlatformError as exc:
                    self._fail(outcome, audit, provisioner.component, exc.one_line())
                    continue
            self._run(actions, outcome, audit, stop_on_failure=True)
        return outcome

    def _run(
        self,
        actions: list[Action],
        outcome: Outcome,
        audit: AuditLog,
        stop_on_failure: bool = False,
    ) -> bool:
        for action in actions:
            try:
                action.run()
            except PlatformError as exc:
                self._fail(outcome, audit, action.component, exc.one_line(), action)
                if stop_on_failure:
                    return False
                continue
            outcome.done.append(action)
            audit.record(outcome.username, "ok", action)
        return True

    def _fail(
        self,
        outcome: Outcome,
        audit: AuditLog,
        component: str,
        message: str,
        action: Action | None = None,
    ) -> None:
        outcome.failed.append((component, message))
        audit.record(outcome.username, "failed", action, component=component, error=message)
