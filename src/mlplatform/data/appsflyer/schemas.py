"""pandera schemas for AppsFlyer raw reports, in both namings.

One rule table keyed by the snake_case API name (Data Locker, Push API) drives every schema;
`report_schema(report, naming="pull")` names the columns by their Pull API CSV headers
("Install Time") instead, through the mapping in `columns.py`. Values are validated as the
strings AppsFlyer sends, after its null markers (`null`, `None`, `N/A`, `NULL`) became nulls;
extra columns (`additional_fields` after `Original URL`) are allowed and kept.
"""

from __future__ import annotations

import functools
import json
from typing import Literal

import pandas as pd
import pandera.pandas as pa

from mlplatform.data.appsflyer.columns import SNAKE_TO_HEADER
from mlplatform.data.appsflyer.reports import CONVERSION_EVENTS, Report

Naming = Literal["pull", "snake"]

TIMESTAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?"  # UTC, with or without ms
APPSFLYER_ID = r"\d{13}-\d+"
DECIMAL = r"-?\d+(\.\d+)?"


def _matches(pattern: str, name: str) -> pa.Check:
    return pa.Check(lambda s: s.astype(str).str.fullmatch(pattern), name=name)


def _one_of(values: set[str], name: str) -> pa.Check:
    return pa.Check(lambda s: s.isin(values), name=name)


def _json_or_empty(series: pd.Series) -> pd.Series:
    verdicts: dict[str, bool] = {}
    for value in series.unique():
        try:
            json.loads(value)
            verdicts[value] = True
        except (TypeError, ValueError):
            verdicts[value] = False
    return series.map(verdicts).astype(bool)


BOOLEAN = _one_of({"true", "false"}, "'true' or 'false'")


def _real_timestamps(series: pd.Series) -> pd.Series:
    """Exact formats, parsed: a shape check alone would pass "2026-13-45 99:00:00", and
    exact-format parsing is several times faster than a regex plus a lenient parse."""
    text = series.astype(str)
    parsed = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    with_fraction = parsed.isna()
    if with_fraction.any():
        parsed[with_fraction] = pd.to_datetime(
            text[with_fraction], format="%Y-%m-%d %H:%M:%S.%f", errors="coerce"
        )
    return parsed.notna()


TIME = pa.Check(_real_timestamps, name="a UTC timestamp yyyy-mm-dd hh:mm:ss[.sss]")

# snake_case name -> (required and non-null?, checks on non-null values)
RULES: dict[str, tuple[bool, list[pa.Check]]] = {
    "appsflyer_id": (True, [_matches(APPSFLYER_ID, "AppsFlyer ID <13-digit ms>-<digits>")]),
    "event_time": (True, [TIME]),
    "install_time": (True, [TIME]),
    "event_name": (True, []),
    "app_id": (True, []),
    "platform": (True, [_one_of({"android", "ios", "windowsphone"}, "android/ios/windowsphone")]),
    "attributed_touch_time": (False, [TIME]),
    "attributed_touch_type": (
        False,
        [_one_of({"click", "impression", "tv", "TV", "pre-installed"}, "touch type")],
    ),
    "event_value": (False, [pa.Check(_json_or_empty, name="valid JSON")]),
    "event_revenue": (False, [_matches(DECIMAL, "a number")]),
    "event_revenue_usd": (False, [_matches(DECIMAL, "a number")]),
    "af_cost_value": (False, [_matches(DECIMAL, "a number")]),
    "event_revenue_currency": (False, [_matches(r"[A-Z]{3}", "ISO currency code")]),
    "af_cost_currency": (False, [_matches(r"[A-Z]{3}", "ISO currency code")]),
    "event_source": (False, [_one_of({"SDK", "S2S"}, "SDK or S2S")]),
    "country_code": (False, [_matches(r"[A-Z]{2}", "ISO country code")]),
    "is_receipt_validated": (False, [BOOLEAN]),
    "wifi": (False, [BOOLEAN]),
    "is_retargeting": (False, [BOOLEAN]),
    "is_primary_attribution": (False, [BOOLEAN]),
    **{f"contributor{n}_touch_time": (False, [TIME]) for n in (1, 2, 3)},
}


def _report_checks(report: Report) -> dict[str, list[pa.Check]]:
    """What makes a row belong to this report, beyond the common rules."""
    checks: dict[str, list[pa.Check]] = {}
    if report.in_app:
        checks["event_name"] = [
            pa.Check(lambda s: ~s.isin(CONVERSION_EVENTS), name="an in-app event name")
        ]
    elif report.id in ("installs", "organic_installs"):
        checks["event_name"] = [_one_of({"install"}, "'install'")]
    if report.organic is True:
        checks["media_source"] = [_one_of({"organic"}, "'organic'")]
    if report.retargeting:
        checks["is_retargeting"] = [_one_of({"true"}, "'true' (retargeting report)")]
    return checks


@functools.cache
def report_schema(report: Report, naming: Naming = "snake") -> pa.DataFrameSchema:
    extra = _report_checks(report)
    columns = {}
    for name in dict.fromkeys([*RULES, *extra]):
        required, checks = RULES.get(name, (False, []))
        column_name = SNAKE_TO_HEADER.get(name, name) if naming == "pull" else name
        columns[column_name] = pa.Column(
            None,  # values are strings as sent; pyarrow and pandas differ in how they store them
            checks=[*checks, *extra.get(name, [])],
            nullable=not required,
            required=required,
            coerce=False,
        )
    return pa.DataFrameSchema(columns, strict=False, name=f"appsflyer_{report.id}")


def required_columns(naming: Naming = "snake") -> list[str]:
    names = [n for n, (required, _) in RULES.items() if required]
    return [SNAKE_TO_HEADER.get(n, n) for n in names] if naming == "pull" else names
