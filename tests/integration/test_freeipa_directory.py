"""FreeIpaDirectory, over real HTTPS, against a loopback stand-in for FreeIPA.

No FreeIPA server installs here (it needs a whole IPA domain: 389-DS, a KDC, Dogtag), so
`tests/servers/fake_freeipa.py` answers python-freeipa with the JSON-RPC shapes FreeIPA
documents: list-valued attributes, DNA-assigned numbers, `failed` members inside a success,
IPA's error codes and messages, and the login refusals IPA sends in `X-IPA-Rejection-Reason`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pyotp
import pytest

from mlplatform.errors import PlatformError
from mlplatform.settings import get_settings
from mlplatform.users.directory import open_directory
from mlplatform.users.directory.freeipa import FreeIpaDirectory
from mlplatform.users.model import UserSpec
from mlplatform.users.names import InvalidNameError
from tests.servers.fake_freeipa import DNA_START, SEARCH_LIMIT, FakeIpa, serve_fake_freeipa

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "admin-secret-1"
ALICE = UserSpec(
    username="alice", full_name="Alice Smith", email="alice@example.com", team="growth"
)


@pytest.fixture
def ipa(tmp_path: Path) -> Iterator[FakeIpa]:
    with serve_fake_freeipa(tmp_path) as fake:
        yield fake


def connect(ipa: FakeIpa, user: str = "admin", password: str = ADMIN_PASSWORD) -> FreeIpaDirectory:
    return FreeIpaDirectory(ipa.url, user, password, verify_ssl=ipa.ca_file)


def refused(call: Callable[..., object], *args: object) -> str:
    """The one-line message of the PlatformError `call(*args)` raises."""
    with pytest.raises(PlatformError) as caught:
        call(*args)
    message = caught.value.one_line()
    assert "\n" not in message and caught.value.hint
    return message


# --- users --------------------------------------------------------------------------------


def test_a_new_user_gets_numbers_from_ipa_and_reads_back_as_created(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    assert directory.assigns_ids is True
    directory.create_user(ALICE, None)

    alice = directory.get_user("alice")
    assert alice is not None
    assert (alice.full_name, alice.email, alice.team) == ("Alice Smith", ALICE.email, "growth")
    assert alice.uid_number == alice.gid_number > DNA_START  # DNA: one number for both
    assert alice.groups == {"ipausers"} and not alice.locked
    assert ipa.users["alice"]["departmentnumber"] == ["growth"]
    assert "uidnumber" not in ipa.calls[-2][2]  # the user_add call left numbers to IPA


def test_a_given_uid_is_also_the_gid(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, 70001)
    alice = directory.get_user("alice")
    assert alice is not None and (alice.uid_number, alice.gid_number) == (70001, 70001)


def test_an_unknown_user_is_none_and_a_duplicate_is_ipas_message(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    assert directory.get_user("nobody") is None
    directory.create_user(ALICE, None)
    message = refused(directory.create_user, ALICE, None)
    assert message.startswith(f"FreeIPA at {ipa.url} refused user_add alice: ")
    assert 'user with name "alice" already exists' in message


def test_update_sets_name_mail_and_team_and_repeating_it_is_harmless(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    moved = ALICE.model_copy(update={"full_name": "Alice Jones", "team": "ml-research"})
    directory.update_user(moved)
    directory.update_user(moved)  # IPA answers EmptyModlist (4202): nothing to do
    alice = directory.get_user("alice")
    assert alice is not None and (alice.full_name, alice.team) == ("Alice Jones", "ml-research")
    assert ipa.users["alice"]["sn"] == ["Jones"]


def test_locking_disables_the_account_in_ipa_and_is_idempotent(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    ipa.passwords["alice"] = "alice-pass-1"  # as if alice had chosen her own password
    for _ in range(2):  # the second time IPA says AlreadyInactive / AlreadyActive
        directory.set_locked("alice", True)
    alice = directory.get_user("alice")
    assert alice is not None and alice.locked and ipa.users["alice"]["nsaccountlock"] is True
    assert "is disabled, expired or locked out" in refused(
        connect(ipa, "alice", "alice-pass-1").get_user, "x"
    )
    for _ in range(2):
        directory.set_locked("alice", False)
    assert connect(ipa, "alice", "alice-pass-1").get_user("alice") is not None


def test_older_ipa_lock_flag_as_a_string_list_is_understood(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    ipa.users["alice"]["nsaccountlock"] = ["TRUE"]  # IPA before 4.9
    alice = directory.get_user("alice")
    assert alice is not None and alice.locked


def test_list_users_and_used_ids_see_past_ipas_search_limit(ipa: FakeIpa) -> None:
    for n in range(SEARCH_LIMIT + 5):
        ipa.add_user(f"user{n}", f"User {n}", password=None)
    directory = connect(ipa)
    users = {u.username: u for u in directory.list_users()}
    assert len(users) == SEARCH_LIMIT + 6  # admin too
    assert users["admin"].groups == {"admins", "ipausers"}
    numbers = directory.used_ids()
    assert {u.uid_number for u in users.values()} <= numbers
    assert DNA_START + SEARCH_LIMIT + 5 in numbers


# --- groups -------------------------------------------------------------------------------


def test_groups_are_created_and_membership_changes_are_idempotent(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    assert not directory.group_exists("ml-platform-users")
    directory.create_group("ml-platform-users", None)
    directory.create_group("growth", 70500)
    assert directory.group_exists("ml-platform-users")
    assert ipa.groups["growth"]["gidnumber"] == ["70500"]
    assert int(ipa.groups["ml-platform-users"]["gidnumber"][0]) in directory.used_ids()

    for _ in range(2):  # IPA reports "already a member" inside a success
        directory.add_member("ml-platform-users", "alice")
    alice = directory.get_user("alice")
    assert alice is not None and alice.groups == {"ipausers", "ml-platform-users"}
    for _ in range(2):
        directory.remove_member("ml-platform-users", "alice")
    assert ipa.groups["ml-platform-users"]["member"] == []


def test_group_errors_name_ipas_reason(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_group("ml-platform-users", None)
    assert "no such entry" in refused(directory.add_member, "ml-platform-users", "ghost")
    assert "nope: group not found" in refused(directory.add_member, "nope", "admin")
    duplicate = refused(directory.create_group, "ml-platform-users", None)
    assert 'group with name "ml-platform-users" already exists' in duplicate


# --- passwords and TOTP -------------------------------------------------------------------


def test_an_admin_set_password_is_expired_by_ipa(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    directory.set_password("alice", "Initial-Pass-42")
    assert ipa.passwords["alice"] == "Initial-Pass-42"
    message = refused(connect(ipa, "alice", "Initial-Pass-42").get_user, "alice")
    assert "refused the login of 'alice': its password has expired" in message
    assert "Initial-Pass-42" not in message


def test_passwords_never_reach_a_message_or_a_log(
    ipa: FakeIpa, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    directory.set_password("alice", "Good-Pass-4242")
    message = refused(directory.set_password, "alice", "sh0rt")
    assert "Constraint violation: Password is too short" in message and "sh0rt" not in message
    assert "refusing an empty password" in refused(directory.set_password, "alice", "")
    wrong = refused(connect(ipa, "admin", "Wrong-Pass-777").get_user, "alice")
    assert "refused the login of 'admin': wrong password" in wrong
    assert "Wrong-Pass-777" not in wrong
    for password in ("Good-Pass-4242", "sh0rt", "Wrong-Pass-777", ADMIN_PASSWORD):
        assert password not in caplog.text


def test_totp_enrolment_makes_ipa_require_password_and_code(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.create_user(ALICE, None)
    ipa.passwords["alice"] = "alice-pass-1"

    uri = directory.enroll_totp("alice", "ML Platform")
    assert uri.startswith("otpauth://totp/ML%20Platform:alice?")
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    [token] = ipa.tokens.values()
    assert token["ipatokenowner"] == ["alice"] and totp.secret == token["secret"]
    assert ipa.users["alice"]["ipauserauthtype"] == ["otp"]

    assert "wrong password" in refused(connect(ipa, "alice", "alice-pass-1").get_user, "alice")
    assert connect(ipa, "alice", "alice-pass-1" + totp.now()).get_user("alice") is not None

    again = pyotp.parse_uri(directory.enroll_totp("alice", "ML Platform"))
    [token] = ipa.tokens.values()  # re-enrolment (a lost phone) replaces the old token
    assert again.secret == token["secret"] != totp.secret


def test_totp_for_an_unknown_user_is_ipas_not_found(ipa: FakeIpa) -> None:
    assert "ghost: user not found" in refused(connect(ipa).enroll_totp, "ghost", "ML Platform")


# --- names, connection and login ----------------------------------------------------------

HOSTILE = ["alice,cn=admins", "admin)(uid=*", "../etc", "\u0430lice", "", "a" * 65, "bob\x00"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_before_any_request(ipa: FakeIpa, name: str) -> None:
    directory = connect(ipa)
    calls: list[Callable[[], object]] = [
        lambda: directory.get_user(name),
        lambda: directory.set_locked(name, True),
        lambda: directory.set_password(name, "Some-Pass-123"),
        lambda: directory.enroll_totp(name, "ML Platform"),
        lambda: directory.group_exists(name),
        lambda: directory.create_group(name, None),
        lambda: directory.add_member("ml-platform-users", name),
        lambda: directory.remove_member(name, "alice"),
    ]
    for call in calls:
        with pytest.raises(InvalidNameError):
            call()
    assert ipa.requests == 0  # not even a login


def test_it_logs_in_once_and_again_only_when_ipa_ends_the_session(ipa: FakeIpa) -> None:
    directory = connect(ipa)
    directory.get_user("admin")
    directory.list_users()
    assert ipa.logins == 1
    ipa.sessions.clear()  # IPA sessions expire after 20 minutes by default
    assert directory.get_user("admin") is not None
    assert ipa.logins == 2


def test_too_few_rights_say_which_role_to_grant(ipa: FakeIpa) -> None:
    ipa.add_user("viewer", "View Only", password="viewer-pass-1")
    message = refused(connect(ipa, "viewer", "viewer-pass-1").create_user, ALICE, None)
    assert "refused user_add alice: Insufficient access" in message
    assert "give 'viewer' FreeIPA's 'User Administrator' role" in message


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = FreeIpaDirectory(f"https://127.0.0.1:{port}", "admin", ADMIN_PASSWORD)
    message = refused(directory.get_user, "alice")
    assert message.startswith(f"cannot reach FreeIPA at https://127.0.0.1:{port}: ")
    assert "Connection refused" in message


def test_a_silent_server_times_out() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # accepts TCP, never answers TLS
        port = sock.getsockname()[1]
        directory = FreeIpaDirectory(f"127.0.0.1:{port}", "admin", ADMIN_PASSWORD, timeout=0.5)
        message = refused(directory.get_user, "alice")
    assert f"cannot reach FreeIPA at https://127.0.0.1:{port}: no answer within 0.5 s" in message


def test_an_untrusted_certificate_says_how_to_trust_it(ipa: FakeIpa) -> None:
    directory = FreeIpaDirectory(ipa.url, "admin", ADMIN_PASSWORD)  # system CAs only
    message = refused(directory.get_user, "alice")
    assert "its TLS certificate is not trusted" in message and "freeipa.verify_ssl" in message


def test_urls_are_https_only() -> None:
    assert FreeIpaDirectory("ipa.example.com", "admin", "x").url == "https://ipa.example.com"
    assert FreeIpaDirectory("https://ipa.example.com/ipa/ui", "admin", "x").describe() == (
        "https://ipa.example.com (FreeIPA JSON-RPC as admin)"
    )
    assert "HTTPS only" in refused(FreeIpaDirectory, "http://ipa.example.com", "admin", "x")


def test_settings_open_it_and_the_password_is_read_at_login(
    ipa: FakeIpa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLATFORM_USERS__BACKEND", "freeipa")
    monkeypatch.setenv("MLPLATFORM_FREEIPA__URL", ipa.url)
    monkeypatch.setenv("MLPLATFORM_FREEIPA__VERIFY_SSL", ipa.ca_file)
    get_settings.cache_clear()
    directory = open_directory(get_settings())
    assert isinstance(directory, FreeIpaDirectory)
    assert "MLPLATFORM_FREEIPA_PASSWORD is not set" in refused(directory.get_user, "admin")
    monkeypatch.setenv("MLPLATFORM_FREEIPA_PASSWORD", "Not-It-999")
    wrong = refused(directory.get_user, "admin")
    assert "the password in $MLPLATFORM_FREEIPA_PASSWORD" in wrong and "Not-It-999" not in wrong
    monkeypatch.setenv("MLPLATFORM_FREEIPA_PASSWORD", ADMIN_PASSWORD)
    assert directory.get_user("admin") is not None


def test_settings_without_a_url_say_what_to_set() -> None:
    get_settings.cache_clear()
    assert "freeipa.url is not set" in refused(FreeIpaDirectory.from_settings, get_settings())
