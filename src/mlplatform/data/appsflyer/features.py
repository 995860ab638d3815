"""Install-level feature table from raw AppsFlyer installs and in-app events.

One row per install (key: AppsFlyer ID) with attribution, install time parts, day-0 behaviour
(first 24 hours) and two labels: purchased within 7 days, revenue within 30 days. Every raw row
either ends up used or is returned as rejected with a reason: bad fields, duplicate installs,
events without an install, events before their install, installs too recent to label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.data.appsflyer.columns import (
    ATTRIBUTION_COLUMNS,
    CATEGORICAL_FEATURES,
    FEATURE_TABLE_COLUMNS,
    TRACKED_EVENTS,
    WINDOWS,
)
from mlplatform.data.appsflyer.reports import REPORTS
from mlplatform.data.appsflyer.validate import validate_frame
from mlplatform.data.quarantine import combine, reject

LABEL_DAYS = 7
REVENUE_DAYS = 30


@dataclass
class InstallTable:
    table: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: dict[str, int]


def check_installs(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Installs that pass the `installs` report schema, one per AppsFlyer ID (the earliest)."""
    rows, reasons = validate_frame(raw, REPORTS["installs"])
    bad = (reasons != "").to_numpy()
    good = rows[~bad].assign(install_time=_parse_time(rows.loc[~bad, "install_time"]))
    # The same install twice (re-delivered file, overlapping windows): keep the earliest.
    good = good.sort_values(["install_time", "_source", "_line"], kind="stable")
    dupes = good.duplicated("appsflyer_id", keep="first")
    rejected = combine(
        reject("installs", raw[bad], reasons[bad]),
        reject("installs", raw.loc[good.index[dupes]], "duplicate install (same AppsFlyer ID)"),
    )
    return good[~dupes], rejected


def check_events(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """In-app events that pass the `in_app_events` report schema, with parsed time and revenue."""
    rows, reasons = validate_frame(raw, REPORTS["in_app_events"])
    bad = (reasons != "").to_numpy()
    good = rows[~bad].assign(
        event_time=_parse_time(rows.loc[~bad, "event_time"]),
        event_revenue_usd=pd.to_numeric(rows.loc[~bad, "event_revenue_usd"]).fillna(0.0),
    )
    return good, reject("in_app_events", raw[bad], reasons[bad])


def _parse_time(values: pd.Series) -> pd.Series:
    # ISO8601 covers both `yyyy-mm-dd hh:mm:ss` (Pull API) and `.sss` (Push API); UTC.
    return pd.to_datetime(values, format="ISO8601")


def build_install_table(
    installs_raw: pd.DataFrame,
    events_raw: pd.DataFrame,
    purchase_days: tuple[int, ...] = (LABEL_DAYS,),
    revenue_days: tuple[int, ...] = (REVENUE_DAYS,),
) -> InstallTable:
    installs, rejected_installs = check_installs(installs_raw)
    events, rejected_events = check_events(events_raw)

    raw_index = installs.index
    installs = installs.reset_index(drop=True)
    owner = pd.Index(installs["appsflyer_id"]).get_indexer(events["appsflyer_id"])
    matched = owner >= 0
    age = np.full(len(events), np.nan)
    age[matched] = (
        events["event_time"].to_numpy()[matched]
        - installs["install_time"].to_numpy()[owner[matched]]
    ) / np.timedelta64(1, "h")
    before_install = matched & (age < 0)
    orphan_rows = events_raw.loc[events.index[~matched]]
    early_rows = events_raw.loc[events.index[before_install]]
    use = matched & ~before_install
    events, owner, age = events[use], owner[use], age[use]

    n = len(installs)
    name = events["event_name"].to_numpy()
    revenue = events["event_revenue_usd"].to_numpy(dtype=float)
    is_buy = name == "af_purchase"

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(owner[mask], minlength=n)

    def total(mask: np.ndarray) -> np.ndarray:
        return np.bincount(owner[mask], weights=revenue[mask], minlength=n)

    columns: dict[str, Any] = {
        "appsflyer_id": installs["appsflyer_id"],
        "app_id": installs["app_id"],
        "install_time": installs["install_time"],
        **{c: _category(installs, c) for c in ATTRIBUTION_COLUMNS},
        "is_organic": (installs["media_source"] == "organic").astype(int),
        "install_hour": installs["install_time"].dt.hour,
        "install_weekday": installs["install_time"].dt.day_of_week,
    }
    for window, (start, end) in WINDOWS.items():
        # Only events inside the window: a feature never sees what happened after its cutoff.
        inside = (age >= start) & (age < end)
        pairs = pd.DataFrame({"o": owner[inside], "e": name[inside]}).drop_duplicates()
        columns[f"{window}_events"] = count(inside)
        columns[f"{window}_distinct_events"] = np.bincount(pairs["o"].to_numpy(), minlength=n)
        columns[f"{window}_purchases"] = count(inside & is_buy)
        columns[f"{window}_revenue_usd"] = total(inside & is_buy).round(2)
        for event in TRACKED_EVENTS:
            columns[f"{window}_{event}"] = count(inside & (name == event))
    for days in purchase_days:
        columns[f"purchased_d{days}"] = (count(is_buy & (age <= days * 24)) > 0).astype(int)
    for days in revenue_days:
        columns[f"revenue_d{days}_usd"] = total(is_buy & (age <= days * 24)).round(2)
    table = pd.DataFrame(columns)
    # An install younger than the longest label window has an unknown label, not a negative one.
    horizon = max((*purchase_days, *revenue_days))
    as_of = events["event_time"].max() if len(events) else installs["install_time"].max()
    too_recent = (installs["install_time"] + pd.Timedelta(days=horizon) > as_of).to_numpy()
    recent_rows = installs_raw.loc[raw_index[too_recent]]
    rejected = combine(
        rejected_installs,
        reject("installs", recent_rows, f"label window incomplete (< {horizon} days of data)"),
        rejected_events,
        reject("in_app_events", orphan_rows, "no matching install"),
        reject("in_app_events", early_rows, "event before its install"),
    )
    return InstallTable(
        table=compact(table[~too_recent].reset_index(drop=True)),
        rejected=rejected,
        rows_in={"installs": len(installs_raw), "in_app_events": len(events_raw)},
    )


def _category(installs: pd.DataFrame, column: str) -> pd.Series:
    if column not in installs:  # a Data Locker selection without this field
        return pd.Series("(none)", index=installs.index)
    return installs[column].fillna("(none)")


def compact(table: pd.DataFrame) -> pd.DataFrame:
    """Categories for low-cardinality strings, int32 counts: a third of the memory, and every
    Metaflow step that loads the table unpickles (and gzips) that much less."""
    out = table.copy()
    for column in CATEGORICAL_FEATURES:
        out[column] = out[column].astype("category")
    for column, kind in FEATURE_TABLE_COLUMNS.items():
        if kind == "int":
            out[column] = out[column].astype("int32")
    for column in out.columns:
        if column.startswith("purchased_d"):
            out[column] = out[column].astype("int8")
    return out
