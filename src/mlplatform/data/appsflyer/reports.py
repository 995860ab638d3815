"""AppsFlyer raw report types: their ids, the names AppsFlyer uses for them, and detection.

A report id names what the rows are (`installs`, `in_app_events`, ...). The Pull API path
segment (`installs_report`) and the Data Locker topic (`inapps`) are accepted as aliases.
"""

from __future__ import annotations

import difflib
from collections import Counter
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


def report_of_event(event_name: str, retargeting: bool) -> Report:
    """The report one row belongs to, from its event: how a stream that mixes them (Push API
    postbacks) is validated row by row."""
    if event_name == "install":
        return REPORTS["installs"]
    if event_name in ("reinstall", "uninstall"):
        return REPORTS[event_name + "s"]
    if event_name.startswith("re-"):
        return REPORTS["retargeting_installs"]
    return REPORTS["retargeting_in_app_events" if retargeting else "in_app_events"]


def mixes_reports(event_names: Sequence[str]) -> bool:
    """Whether rows hold both conversions and in-app events, as a Push API stream does."""
    conversions = sum(n in CONVERSION_EVENTS for n in event_names)
    return 0 < conversions < len(event_names)


def report_from_path(path: str) -> Report | None:
    """The report a raw-zone or Data Locker path names (`.../installs-retarget/dt=...`,
    `.../t=inapps/dt=...`), if any of its folders does."""
    for folder in reversed(path.replace("\\", "/").split("/")[:-1]):
        report = _BY_NAME.get(folder.removeprefix("t="))
        if report is not None:
            return report
    return None


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
    conversions = Counter(n for n in names if n in CONVERSION_EVENTS)
    if conversions.total() > len(names) / 2:
        conversion = conversions.most_common(1)[0][0]
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
