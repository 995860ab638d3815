"""Plan logic over an in-memory directory: allocation, idempotence, sync, partial failure.

The real backends are tested against slapd and a FreeIPA JSON-RPC stand-in in
tests/integration; this file pins the rules the manager applies on top of any backend.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mlplatform.errors import PlatformError
from mlplatform.settings import get_settings
from mlplatform.users.audit import read_audit
from mlplatform.users.manager import UserManager
from mlplatform.users.model import DirectoryUser, Roster, UserSpec, load_roster
from mlplatform.users.names import InvalidNameError, validate_username
from mlplatform.users.plan import Action


class MemoryDirectory:
    """The Directory protocol over dicts, with a switch to make it look unreachable."""

    assigns_ids = False

    def __init__(self) -> None:
        self.users: dict[str, DirectoryUser] = {}
        self.groups: dict[str, set[str]] = {}
        self.gids: dict[str, int] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise PlatformError("cannot reach LDAP server memory://", "start it")

    def describe(self) -> str:
        return "memory://"

    def get_user(self, username: str) -> DirectoryUser | None:
        self._check()
        user = self.users.get(username)
        if user is None:
            return None
        groups = frozenset(g for g, members in self.groups.items() if username in members)
        return replace(user, groups=groups)

    def list_users(self) -> list[DirectoryUser]:
        return [u for name in self.users if (u := self.get_user(name))]

    def used_ids(self) -> set[int]:
        return {u.uid_number for u in self.users.values()} | set(self.gids.values())

    def create_user(self, spec: UserSpec, uid_number: int | None) -> None:
        self._check()
        assert uid_number is not None
        self.users[spec.username] = DirectoryUser(
            spec.username, spec.full_name, spec.email, spec.team, uid_number, uid_number
        )

    def update_user(self, spec: UserSpec) -> None:
        self.users[spec.username] = replace(
            self.users[spec.username], full_name=spec.full_name, email=spec.email, team=spec.team
        )

    def set_locked(self, username: str, locked: bool) -> None:
        self._check()
        self.users[username] = replace(self.users[username], locked=locked)

    def set_password(self, username: str, password: str) -> None:
        pass

    def group_exists(self, group: str) -> bool:
        return group in self.groups

    def create_group(self, group: str, gid_number: int | None) -> None:
        self.groups[group] = set()
        self.gids[group] = gid_number or 0

    def add_member(self, group: str, username: str) -> None:
        self.groups[group].add(username)

    def remove_member(self, group: str, username: str) -> None:
        self.groups[group].discard(username)


class FlakyStore:
    """A provisioner that owns a set of names and can be made to fail, like S3 going down."""

    component = "s3"

    def __init__(self) -> None:
        self.prefixes: set[str] = set()
        self.down = False

    def _add(self, name: str) -> None:
        if self.down:
            raise PlatformError("cannot reach S3", "check AWS_ENDPOINT_URL")
        self.prefixes.add(name)

    def plan_onboard(self, spec: UserSpec, user: DirectoryUser) -> list[Action]:
        if spec.username in self.prefixes:
            return []
        return [
            Action("s3", "create", f"users/{spec.username}/", run=lambda: self._add(spec.username))
        ]

    def plan_offboard(self, user: DirectoryUser) -> list[Action]:
        return []


def alice(**changes: object) -> UserSpec:
    base: dict[str, object] = {
        "username": "alice",
        "full_name": "Alice Liddell",
        "email": "alice@example.com",
        "team": "growth",
    }
    return UserSpec.model_validate(base | changes)


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[UserManager, MemoryDirectory, FlakyStore]:
    monkeypatch.setenv("MLPLATFORM_USERS__AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    get_settings.cache_clear()
    directory, store = MemoryDirectory(), FlakyStore()
    return UserManager(directory, get_settings(), [store]), directory, store


def test_onboarding_is_idempotent_and_allocates_from_the_range(world) -> None:
    manager, directory, _ = world
    plan = manager.plan_onboard(alice())
    assert [(a.component, a.verb) for a in plan.actions] == [
        ("directory", "create"),
        ("group", "create"),
        ("group", "add"),
        ("s3", "create"),
    ]
    outcome = manager.apply(plan)
    assert not outcome.failed and len(outcome.done) == 4
    assert directory.users["alice"].uid_number == 10000
    assert directory.gids["ml-platform-users"] == 10001
    assert manager.plan_onboard(alice()).empty
    bob = manager.apply(manager.plan_onboard(alice(username="bob")))
    assert not bob.failed and directory.users["bob"].uid_number == 10002


def test_partial_failure_is_reported_audited_and_repaired_by_the_next_run(world) -> None:
    manager, directory, store = world
    store.down = True
    outcome = manager.apply(manager.plan_onboard(alice()))
    assert outcome.failed == [("s3", "cannot reach S3 — check AWS_ENDPOINT_URL")]
    assert "alice" in directory.users  # the directory part stays done
    store.down = False
    replan = manager.plan_onboard(alice())
    assert [a.component for a in replan.actions] == ["s3"]
    assert not manager.apply(replan).failed and "alice" in store.prefixes
    from mlplatform.users.audit import audit_path

    records = read_audit(audit_path(get_settings()))
    assert [r["outcome"] for r in records if r.get("component") == "s3"] == ["failed", "ok"]
    assert all("password" not in str(r).lower() for r in records)


def test_sync_updates_groups_and_offboards_leavers_only(world) -> None:
    manager, directory, _ = world
    for spec in (alice(groups=["ml-platform-admins"]), alice(username="carol")):
        manager.apply(manager.plan_onboard(spec))
    directory.users["outsider"] = DirectoryUser("outsider", "Not Ours", "o@x.io", "hr", 500, 500)
    roster = Roster(users=[alice(team="research"), alice(username="dave")])
    plans = {p.username: p for p in manager.plan_sync(roster)}
    assert set(plans) == {"alice", "dave", "carol"}  # the outsider is not a platform user
    alice_changes = {(a.component, a.verb, a.target) for a in plans["alice"].actions}
    assert ("directory", "update", "alice") in alice_changes
    assert ("group", "remove", "ml-platform-admins") in alice_changes
    assert plans["carol"].operation == "offboard"
    for plan in plans.values():
        assert not manager.apply(plan).failed
    assert directory.users["carol"].locked and "carol" not in directory.groups["ml-platform-users"]
    assert manager.plan_sync(roster) == []


def test_disable_only_locks_and_add_unlocks(world) -> None:
    manager, directory, _ = world
    manager.apply(manager.plan_onboard(alice()))
    plan = manager.plan_offboard("alice", "disable")
    assert [a.verb for a in plan.actions] == ["lock"]
    manager.apply(plan)
    assert directory.users["alice"].locked and "alice" in directory.groups["ml-platform-users"]
    assert [a.verb for a in manager.plan_onboard(alice()).actions] == ["unlock"]


def test_unknown_user_and_exhausted_range_are_one_line_errors(world, monkeypatch) -> None:
    manager, _, _ = world
    with pytest.raises(PlatformError, match="no user 'ghost'"):
        manager.plan_offboard("ghost")
    monkeypatch.setattr(manager.settings.users, "id_range_end", 10001)
    manager.apply(manager.plan_onboard(alice()))  # uid 10000, the users group 10001
    with pytest.raises(PlatformError, match="no free uid/gid number left in 10000-10001"):
        manager.plan_onboard(alice(username="bob"))


@pytest.mark.parametrize(
    "name",
    ["*)(uid=*", "admin,ou=x", "../etc", "\u0430dmin", "\uff41dmin", "Alice", "", "a" * 33, "-x"],
)
def test_hostile_usernames_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError, match="not a valid username"):
        validate_username(name)


def test_the_appsflyer_data_folder_is_not_a_username() -> None:
    with pytest.raises(InvalidNameError, match="reserved: /data/appsflyer"):
        validate_username("appsflyer")
    assert validate_username("appsflyer_analyst") == "appsflyer_analyst"


def test_roster_errors_name_file_line_and_field(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "users:\n"
        "  - {username: alice, full_name: Alice, email: alice@example.com, team: growth}\n"
        "  - username: '*)(uid=*'\n"
        "    full_name: Mallory\n"
        "    email: m@example.com\n"
    )
    with pytest.raises(PlatformError) as caught:
        load_roster(roster)
    assert f"{roster}:3: users.1.username" in caught.value.headline
    assert "not a valid username" in caught.value.headline
    roster.write_text("users:\n  - {username: bob, full_name: Bob, email: bob@x.io, teem: a}\n")
    with pytest.raises(PlatformError, match="teem"):
        load_roster(roster)
