"""Directory backends: plain LDAP (ldap3) and FreeIPA's JSON-RPC API (python-freeipa)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplatform.users.directory.base import Directory

if TYPE_CHECKING:
    from mlplatform.settings import Settings

__all__ = ["Directory", "open_directory"]


def open_directory(settings: Settings) -> Directory:
    """The configured backend (`users.backend`), connected lazily on first use."""
    if settings.users.backend == "freeipa":
        from mlplatform.users.directory.freeipa import FreeIpaDirectory

        return FreeIpaDirectory.from_settings(settings)
    from mlplatform.users.directory.ldap import LdapDirectory

    return LdapDirectory.from_settings(settings)
