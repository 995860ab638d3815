"""pandera schemas for AppsFlyer raw reports, in both namings, on the polars backend.

One rule table keyed by the snake_case API name (Data Locker, Push API) drives every schema;
`report_schema(report, naming="pull")` names the columns by their Pull API CSV headers
("Install Time") instead, through the mapping in `columns.py`. Values are validated as the
strings AppsFlyer sends, after its null markers (`null`, `None`, `N/A`, `NULL`) became nulls;
extra columns (`additional_fields` after `Original URL`) are allowed and kept.

Why polars under pandera: every check is a vectorised polars expression (regexes in Rust,
exact-format timestamp parsing), so validating a file costs about as much as parsing it —
the pandas backend with the same checks was 2-3x slower than our whole streaming validator
(docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection
from typing import Literal

import pandera.polars as pa
import polars as pl

from mlplatform.data.appsflyer.columns import NULL_MARKERS, SNAKE_TO_HEADER
from mlplatform.data.appsflyer.reports import CONVERSION_EVENTS, Report

Naming = Literal["pull", "snake"]
# A rule: the expression that is true for a good non-null value of the column it is given.
Rule = Callable[[pl.Expr], pl.Expr]

APPSFLYER_ID = r"^\d{13}-\d+$"
DECIMAL = r"^-?\d+(\.\d+)?$"
# `%.f` takes an optional fraction: UTC timestamps with and without milliseconds. Parsing
# (not a regex) also rejects impossible dates such as "2026-13-45 99:00:00".
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def parse_timestamps(values: pl.Expr) -> pl.Expr:
    return values.str.strptime(pl.Datetime("us"), TIMESTAMP_FORMAT, strict=False, exact=True)


def _matches(pattern: str) -> Rule:
    return lambda values: values.str.contains(pattern)


def _one_of(*allowed: str) -> Rule:
    return lambda values: values.is_in(list(allowed))


def _not_in(*refused: str) -> Rule:
    return lambda values: ~values.is_in(list(refused))


def _is_timestamp(values: pl.Expr) -> pl.Expr:
    return parse_timestamps(values).is_not_null()


def _json_verdicts(values: pl.Series) -> pl.Series:
    """Python's json module decides, once per distinct value (event values repeat a lot)."""
    verdicts = {}
    for value in values.unique().drop_nulls().to_list():
        try:
            json.loads(value)
            verdicts[value] = True
        except ValueError:
            verdicts[value] = False
    return values.replace_strict(verdicts, default=True, return_dtype=pl.Boolean)


def _is_json(values: pl.Expr) -> pl.Expr:
    return values.map_batches(_json_verdicts, return_dtype=pl.Boolean)


BOOLEAN = ("'true' or 'false'", _one_of("true", "false"))
TIME = ("a UTC timestamp yyyy-mm-dd hh:mm:ss[.sss]", _is_timestamp)
NUMBER = ("a number", _matches(DECIMAL))
CURRENCY = ("ISO currency code", _matches(r"^[A-Z]{3}$"))

# snake_case name -> (required and non-null?, [(what a good value is, rule)])
RULES: dict[str, tuple[bool, list[tuple[str, Rule]]]] = {
    "appsflyer_id": (True, [("AppsFlyer ID <13-digit ms>-<digits>", _matches(APPSFLYER_ID))]),
    "event_time": (True, [TIME]),
    "install_time": (True, [TIME]),
    "event_name": (True, []),
    "app_id": (True, []),
    "platform": (True, [("android/ios/windowsphone", _one_of("android", "ios", "windowsphone"))]),
    "attributed_touch_time": (False, [TIME]),
    "attributed_touch_type": (
        False,
        [("touch type", _one_of("click", "impression", "tv", "TV", "pre-installed"))],
    ),
    "event_value": (False, [("valid JSON", _is_json)]),
    "event_revenue": (False, [NUMBER]),
    "event_revenue_usd": (False, [NUMBER]),
    "af_cost_value": (False, [NUMBER]),
    "event_revenue_currency": (False, [CURRENCY]),
    "af_cost_currency": (False, [CURRENCY]),
    "event_source": (False, [("SDK or S2S", _one_of("SDK", "S2S"))]),
    "country_code": (False, [("ISO country code", _matches(r"^[A-Z]{2}$"))]),
    "is_receipt_validated": (False, [BOOLEAN]),
    "wifi": (False, [BOOLEAN]),
    "is_retargeting": (False, [BOOLEAN]),
    "is_primary_attribution": (False, [BOOLEAN]),
    **{f"contributor{n}_touch_time": (False, [TIME]) for n in (1, 2, 3)},
}


def _report_rules(report: Report) -> dict[str, list[tuple[str, Rule]]]:
    """What makes a row belong to this report, beyond the common rules."""
    rules: dict[str, list[tuple[str, Rule]]] = {}
    if report.in_app:
        rules["event_name"] = [("an in-app event name", _not_in(*CONVERSION_EVENTS))]
    elif report.id in ("installs", "organic_installs"):
        rules["event_name"] = [("'install'", _one_of("install"))]
    elif report.id in ("uninstalls", "reinstalls"):
        rules["event_name"] = [(f"'{report.id[:-1]}'", _one_of(report.id[:-1]))]
    elif report.id == "retargeting_installs":
        rules["event_name"] = [
            ("'re-engagement' or 're-attribution'", _one_of("re-engagement", "re-attribution"))
        ]
    if report.organic is True:
        rules["media_source"] = [("'organic'", _one_of("organic"))]
    if report.retargeting:
        rules["is_retargeting"] = [("'true' (retargeting report)", _one_of("true"))]
    return rules


def _check(description: str, rule: Rule) -> pa.Check:
    def run(data: pa.PolarsData) -> pl.LazyFrame:
        values = pl.col(data.key)
        # Nullability is the column's business: a null passes every value check.
        return data.lazyframe.select(values.is_null() | rule(values))

    return pa.Check(run, name=description)


def _column_rules(report: Report) -> list[tuple[str, bool, list[tuple[str, Rule]]]]:
    """(snake_case column, required and non-null?, rules) for every checked column."""
    extra = _report_rules(report)
    out = []
    for name in dict.fromkeys([*RULES, *extra]):
        required, rules = RULES.get(name, (False, []))
        out.append((name, required, [*rules, *extra.get(name, [])]))
    return out


@functools.cache
def report_schema(report: Report, naming: Naming = "snake") -> pa.DataFrameSchema:
    columns = {}
    for name, required, rules in _column_rules(report):
        column_name = SNAKE_TO_HEADER.get(name, name) if naming == "pull" else name
        columns[column_name] = pa.Column(
            pl.String,  # values as sent; typed Parquet/JSON values arrive as their CSV text
            checks=[_check(description, rule) for description, rule in rules],
            nullable=not required,
            required=required,
        )
    return pa.DataFrameSchema(columns, strict=False, name=f"appsflyer_{report.id}")


def row_passes(report: Report, columns: Collection[str]) -> pl.Expr:
    """True for a row the report schema accepts: the same rules, as one polars expression.

    pandera's polars backend runs every check as its own query (some 90 for a report), which
    dominates for the many small files Data Locker delivers; this finds the failing rows in
    one query, so pandera only has to name the reasons for those (`validate.row_reasons`).
    Only the given columns are checked (a missing required column is the caller's error).
    """
    verdicts = [pl.lit(True)]
    for name, required, rules in _column_rules(report):
        if name not in columns:
            continue
        values = pl.col(name)
        if required:
            verdicts.append(values.is_not_null())
        verdicts.extend(values.is_null() | rule(values) for _, rule in rules)
    return pl.all_horizontal(verdicts)


def null_markers_to_null(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """AppsFlyer's spellings of "no value" become nulls, in the given columns."""
    markers = list(NULL_MARKERS)
    return frame.with_columns(
        pl.when(pl.col(c).is_in(markers)).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )


def required_columns(naming: Naming = "snake") -> list[str]:
    names = [n for n, (required, _) in RULES.items() if required]
    return [SNAKE_TO_HEADER.get(n, n) for n in names] if naming == "pull" else names
