"""Usernames are the one value every backend puts into a DN, a path, an IAM name and a URL.

So they are checked once, strictly, before anything else sees them: POSIX-portable lower-case
ASCII (`^[a-z_][a-z0-9_-]{0,31}$`, the shadow-utils rule). Unicode look-alikes (Cyrillic a, U+0430;
full-width a, U+FF41) fail the ASCII check rather than being folded into someone else's name.
Backends still escape every value they put into a DN or a filter: validation is not escaping.
"""

from __future__ import annotations

import re

from mlplatform.errors import PlatformError

USERNAME_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
GROUP_PATTERN = re.compile(r"[a-z_][a-z0-9_.-]{0,63}")
# Folders under the EFS home root that are not people's homes: `/data/appsflyer` is the
# AppsFlyer data Terraform's EFS access point serves, so no user may own it as a home.
RESERVED_USERNAMES = frozenset({"appsflyer"})


class InvalidNameError(PlatformError, ValueError):
    """A username or group name is not allowed (a ValueError too, so pydantic reports it)."""


def validate_username(name: str, where: str = "username") -> str:
    if name in RESERVED_USERNAMES:
        headline = f"{name!r} is reserved: /data/{name} is not a personal home"
        raise InvalidNameError(f"{where}: {headline}" if where else headline, "pick another name")
    return _checked(
        USERNAME_PATTERN,
        name,
        where,
        "username",
        "use 1-32 characters: lower-case ASCII letters, digits, '_' or '-', "
        "starting with a letter or '_'",
    )


def validate_group(name: str, where: str = "group") -> str:
    return _checked(
        GROUP_PATTERN,
        name,
        where,
        "group name",
        "use lower-case ASCII letters, digits, '_', '.' or '-', starting with a letter",
    )


def _checked(pattern: re.Pattern[str], name: str, where: str, what: str, hint: str) -> str:
    if not isinstance(name, str) or not pattern.fullmatch(name):
        headline = f"{name!r} is not a valid {what}"
        raise InvalidNameError(f"{where}: {headline}" if where else headline, hint)
    return name
