"""Spec-driven table validation with pandera: every failing row is kept, with its reasons.

`data.schema` in a pipeline spec becomes a pandera `DataFrameSchema` (coercion, nullability,
ranges, allowed values, regex). Validation is lazy, so one pass reports every failure; failing
rows go to quarantine with the reasons joined, the rest come back coerced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from mlplatform.data.quarantine import empty_rejections, reject
from mlplatform.errors import DataSourceError

PANDERA_TYPES: dict[str, str | None] = {
    "string": None,  # str or category: values are coerced to text, the storage is not forced
    "int": "Int64",  # nullable integer: a missing value is a nullability question, not a type error
    "float": "float64",
    "bool": "boolean",
    "datetime": "datetime64[ns]",
}


class ColumnRules(Protocol):
    type: str
    nullable: bool
    min: float | None
    max: float | None
    allowed: list[Any] | None
    regex: str | None


def build_schema(columns: Mapping[str, ColumnRules]) -> pa.DataFrameSchema:
    built = {}
    for name, rules in columns.items():
        checks = []
        if rules.min is not None:
            checks.append(pa.Check.ge(rules.min, name=f">= {rules.min:g}"))
        if rules.max is not None:
            checks.append(pa.Check.le(rules.max, name=f"<= {rules.max:g}"))
        if rules.allowed is not None:
            checks.append(pa.Check.isin(rules.allowed, name="allowed values"))
        if rules.regex is not None:
            checks.append(
                pa.Check.str_matches(f"^(?:{rules.regex})$", name=f"matches {rules.regex}")
            )
        built[name] = pa.Column(
            PANDERA_TYPES[rules.type], checks=checks, nullable=rules.nullable, coerce=True
        )
    return pa.DataFrameSchema(built, strict=False)


def coerce_column(values: pd.Series, kind: str) -> pd.Series:
    """Values converted to `kind`; what cannot be converted becomes null."""
    if kind == "int" and pd.api.types.is_integer_dtype(values.dtype):
        return values  # already whole numbers: keep the compact storage
    if kind == "float" and pd.api.types.is_float_dtype(values.dtype):
        return values
    if kind in ("int", "float"):
        numbers = pd.to_numeric(values, errors="coerce")
        if kind == "int":
            whole = numbers.isna() | (numbers % 1 == 0)
            return numbers.where(whole).astype("Int64")
        return numbers.astype("float64")
    if kind == "bool":
        lookup = {"true": True, "false": False, "1": True, "0": False}
        return values.map(lambda v: lookup.get(str(v).strip().lower()) if pd.notna(v) else None)
    if kind == "datetime":
        return pd.to_datetime(values, format="ISO8601", errors="coerce")
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Already strings underneath; rebuilding them row by row would cost memory for nothing.
        return values.cat.rename_categories([str(c) for c in values.cat.categories])
    return values.where(values.isna(), values.astype(str))


def validate_table(
    frame: pd.DataFrame, columns: Mapping[str, Any], table: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows, coerced; rejected rows as quarantine records)."""
    if not columns:
        return frame, empty_rejections()
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataSourceError(
            f"{table}: column '{missing[0]}' named in data.schema is not in the data",
            "fix the column name in data.schema, or the data source",
        )
    coerced = frame.copy()
    reasons = pd.Series("", index=frame.index, dtype=object)
    for name, rules in columns.items():
        coerced[name] = coerce_column(frame[name], rules.type)
        present = frame[name].notna() & (frame[name].astype(str).str.strip() != "")
        wrong = present & coerced[name].isna()
        reasons = reasons.mask(wrong & (reasons == ""), f"{name}: wrong type ({rules.type})")
    typed_ok = reasons == ""
    schema = build_schema(columns)
    failures = failing_rows(schema, coerced[typed_ok], _check_label)
    reasons.loc[failures.index] = failures.map("; ".join)
    bad = (reasons != "").to_numpy()
    rejected = reject(table, frame[bad], reasons[bad])
    return schema.validate(coerced[~bad]), rejected


def failing_rows(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, describe: Callable[[Any], str]
) -> pd.Series:
    """Row index -> sorted 'column: check' labels of every failure, from one lazy pass."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        labels = cases["column"].astype(str) + ": " + cases["check"].map(describe)
        return labels.groupby(cases["index"].to_numpy()).agg(lambda r: sorted(set(r)))
    return pd.Series(dtype=object)


def _check_label(check: Any) -> str:
    text = str(check)
    if text == "not_nullable":
        return "empty value"
    return text
