"""AppsFlyer raw report types: their ids, the names AppsFlyer uses for them, and detection.

A report id names what the rows are (`installs`, `in_app_events`, ...). The Pull API path
segment (`installs_report`) and the Data Locker topic (`inapps`) are accepted as aliases.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from mlplatform.errors import PlatformError


@dataclass(frozen=True)
class Report:
    id: str
    in_app: bool  # rows are in-app events (else install-like conversions)
    organic: bool | None  # True: organic only; False: attributed only; None: either
    retargeting: bool
    aliases: tuple[str, ...]  # the first is the Pull API path segment

    @property
    def pull_path(self) -> str:
        return self.aliases[0]


REPORTS: dict[str, Report] = {
    r.id: r
    for r in (
        Report("installs", False, None, False, ("installs_report", "installs")),
        Report("in_app_events", True, None, False, ("in_app_events_report", "inapps")),
        Report("uninstalls", False, None, False, ("uninstall_events_report", "uninstalls")),
        Report("reinstalls", False, False, False, ("reinstalls",)),
        Report("organic_installs", False, True, False, ("organic_installs_report",)),
        Report("organic_in_app_events", True, True, False, ("organic_in_app_events_report",)),
        Report(
            "retargeting_installs",
            False,
            False,
            True,
            ("installs-retarget", "conversions_retargeting"),
        ),
        Report(
            "retargeting_in_app_events",
            True,
            False,
            True,
            ("in-app-events-retarget", "inapps_retargeting"),
        ),
    )
}
# Event names of conversion rows (not in-app events).
CONVERSION_EVENTS = ("install", "reinstall", "uninstall", "re-engagement", "re-attribution")
_BY_NAME = {name: r for r in REPORTS.values() for name in (r.id, *r.aliases)}


def resolve_report(name: str) -> Report:
    report = _BY_NAME.get(name)
    if report is None:
        near = difflib.get_close_matches(name, _BY_NAME, n=1)
        tip = f"did you mean '{near[0]}'? " if near else ""
        raise PlatformError(
            f"unknown AppsFlyer report '{name}'",
            f"{tip}use one of: {', '.join(REPORTS)}",
        )
    return report


def detect_report(
    event_names: Sequence[str], media_sources: Sequence[str], retargeting: Sequence[str]
) -> Report:
    """The report a sample of rows most likely comes from (the header is the same for all)."""
    names = [n for n in event_names if n]
    if not names:
        return REPORTS["installs"]
    share = lambda values, wanted: sum(v == wanted for v in values) / max(len(values), 1)  # noqa: E731
    retarget = share(retargeting, "true") > 0.5
    organic = share(media_sources, "organic") > 0.95
    conversion = max(CONVERSION_EVENTS, key=lambda n: share(names, n))
    if share(names, conversion) > 0.5:
        if conversion == "uninstall":
            return REPORTS["uninstalls"]
        if conversion == "reinstall":
            return REPORTS["reinstalls"]
        if retarget or conversion.startswith("re-"):
            return REPORTS["retargeting_installs"]
        return REPORTS["organic_installs" if organic else "installs"]
    if retarget:
        return REPORTS["retargeting_in_app_events"]
    return REPORTS["organic_in_app_events" if organic else "in_app_events"]
