"""Rejected rows: one shape for every table, so nothing is ever dropped without a trace.

A rejected row keeps where it came from (table, file, line), why it was rejected, and its raw
values as JSON. The validate step writes all of them to one quarantine CSV per run.
"""

from __future__ import annotations

import json

import pandas as pd

QUARANTINE_COLUMNS = ["table", "source", "line", "reason", "row"]


def empty_rejections() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})


def reject(table: str, rows: pd.DataFrame, reasons: pd.Series | str) -> pd.DataFrame:
    """Turn rows (with optional `_source`/`_line` columns) into quarantine records."""
    if rows.empty:
        return empty_rejections()
    payload = rows.drop(columns=[c for c in ("_source", "_line") if c in rows.columns])
    records = payload.astype(object).where(payload.notna(), None).to_dict(orient="records")
    return pd.DataFrame(
        {
            "table": table,
            "source": rows["_source"].to_numpy() if "_source" in rows else "",
            "line": rows["_line"].to_numpy() if "_line" in rows else None,
            "reason": reasons if isinstance(reasons, str) else reasons.to_numpy(),
            "row": [json.dumps(r, default=str) for r in records],
        }
    )


def combine(*frames: pd.DataFrame) -> pd.DataFrame:
    parts = [f for f in frames if not f.empty]
    return pd.concat(parts, ignore_index=True) if parts else empty_rejections()


def reason_counts(rejected: pd.DataFrame) -> dict[str, int]:
    if rejected.empty:
        return {}
    counts = rejected.groupby(["table", "reason"]).size().sort_values(ascending=False)
    return {f"{key[0]}: {key[1]}": int(n) for key, n in counts.items()}  # type: ignore[index]
