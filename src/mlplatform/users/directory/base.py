"""The one interface every directory backend (LDAP, FreeIPA JSON-RPC) implements."""

from __future__ import annotations

from typing import Protocol

from mlplatform.users.model import DirectoryUser, UserSpec


class Directory(Protocol):
    """Users and groups in the site's directory.

    Names passed in are already validated (`users.names`); backends still escape every value
    they put into a DN or a search filter. Errors a user can cause or fix (server unreachable,
    bind refused, entry exists with another owner) are `PlatformError`s naming the server.
    """

    #: True when the server allocates uid/gid numbers itself (FreeIPA's DNA plugin).
    assigns_ids: bool

    def describe(self) -> str:
        """Where this directory is, for messages: `ldap://127.0.0.1:3890 (dc=...)`."""
        ...

    def get_user(self, username: str) -> DirectoryUser | None: ...

    def list_users(self) -> list[DirectoryUser]:
        """Every user under the users container, with their group memberships."""
        ...

    def used_ids(self) -> set[int]:
        """uidNumber and gidNumber values already taken (for allocation from the range)."""
        ...

    def create_user(self, spec: UserSpec, uid_number: int | None) -> None:
        """Create the entry; `uid_number` is None when the directory assigns it (gid = uid)."""
        ...

    def update_user(self, spec: UserSpec) -> None:
        """Set full name, e-mail and team to the spec's values."""
        ...

    def set_locked(self, username: str, locked: bool) -> None: ...

    def set_password(self, username: str, password: str) -> None:
        """Set an initial password (FreeIPA expires it at first login)."""
        ...

    def group_exists(self, group: str) -> bool: ...

    def create_group(self, group: str, gid_number: int | None) -> None: ...

    def add_member(self, group: str, username: str) -> None: ...

    def remove_member(self, group: str, username: str) -> None: ...
