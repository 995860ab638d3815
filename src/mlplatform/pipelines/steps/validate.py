"""Validate: apply the spec's schema, count rejections per table and reason, enforce the limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlplatform.data.quarantine import combine, reason_counts
from mlplatform.data.validation import validate_table
from mlplatform.errors import DataQualityError
from mlplatform.pipelines.spec import PipelineSpec
from mlplatform.pipelines.steps.ingest import IngestResult


@dataclass
class ValidationResult:
    table: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


def validate(spec: PipelineSpec, ingested: IngestResult) -> ValidationResult:
    valid, schema_rejected = validate_table(ingested.table, spec.data.schema_, ingested.table_name)
    rejected = combine(ingested.rejected, schema_rejected)
    per_table = {}
    for table, rows_in in ingested.rows_in.items():
        quarantined = int((rejected["table"] == table).sum()) if not rejected.empty else 0
        per_table[table] = {
            "rows_in": rows_in,
            "rows_valid": rows_in - quarantined,
            "rows_quarantined": quarantined,
        }
    report = {
        "tables": per_table,
        "rows_in": sum(t["rows_in"] for t in per_table.values()),
        "rows_valid": sum(t["rows_valid"] for t in per_table.values()),
        "rows_quarantined": sum(t["rows_quarantined"] for t in per_table.values()),
        "examples": len(valid),
        "reasons": reason_counts(rejected),
    }
    return ValidationResult(table=valid.reset_index(drop=True), rejected=rejected, report=report)


def enforce_limit(spec: PipelineSpec, report: dict[str, Any], quarantine_path: str) -> None:
    """Fail when any table rejected more than `data.max_rejected_fraction` of its rows."""
    limit = spec.data.max_rejected_fraction
    for table, counts in report["tables"].items():
        share = counts["rows_quarantined"] / max(counts["rows_in"], 1)
        if share > limit:
            top = next(
                (
                    r.removeprefix(f"{table}: ")
                    for r in report["reasons"]
                    if r.startswith(f"{table}: ")
                ),
                "see quarantine",
            )
            raise DataQualityError(
                f"{table}: {share:.1%} of {counts['rows_in']} rows rejected, above the "
                f"{limit:.1%} limit (most common: {top})",
                f"inspect {quarantine_path}; fix the data or raise data.max_rejected_fraction",
            )
    if report["examples"] == 0:
        raise DataQualityError("no valid rows left after validation", f"inspect {quarantine_path}")
