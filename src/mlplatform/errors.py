"""The one error type a user can cause, and its families.

Every error a user can trigger (a bad spec, a missing file, bad data, a failed run) is a
`PlatformError`: a one-line `headline` saying what is wrong and where, and a `hint` saying what
to do. The CLI prints both on one line and exits with code 2; anything else is a bug.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base error with a user-facing headline and a hint."""

    exit_code = 2

    def __init__(self, headline: str, hint: str = "") -> None:
        self.headline = headline
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        return f"{self.headline} — {self.hint}" if self.hint else self.headline


class SpecError(PlatformError):
    """The pipeline spec cannot be read or does not validate."""


class SettingsError(PlatformError):
    """A settings profile or MLPLATFORM_* variable is invalid."""


class DataSourceError(PlatformError):
    """A data source is missing, unreadable, or lacks required columns."""


class DataQualityError(PlatformError):
    """Data is readable but unusable: too many rejected rows, one target class, ..."""


class RunFailedError(PlatformError):
    """A Metaflow run failed; the headline names the step and the error."""


class NotFoundError(PlatformError):
    """A run or object the user asked for does not exist."""
