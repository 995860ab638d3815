"""Validate one AppsFlyer raw file, streaming, and report on it.

The file is read in record batches (CSV and CSV.gz through pyarrow's streaming reader, Parquet
by row group), so a file larger than memory validates in bounded memory. Every row ends up
valid or quarantined, never dropped: `rows_in = rows_valid + rows_quarantined`, always.
Quarantined rows (failed checks, unparseable lines, duplicates of an earlier row with the same
AppsFlyer ID, event time and event name) go to one CSV with file, line and reason.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mlplatform.data.appsflyer.columns import HEADER_TO_SNAKE, NULL_MARKERS
from mlplatform.data.appsflyer.reports import Report, detect_report, resolve_report
from mlplatform.data.appsflyer.schemas import Naming, report_schema, required_columns
from mlplatform.data.quarantine import QUARANTINE_COLUMNS, reject
from mlplatform.data.sources import detect_format, local_copy, read_header
from mlplatform.data.validation import failing_rows
from mlplatform.errors import DataSourceError

BATCH_BYTES = 64 << 20
SAMPLES_PER_REASON = 3
DUPLICATE = "duplicate (same AppsFlyer ID, event time and event name)"
UNBALANCED = "unbalanced quote: the row runs over the following line(s)"
_DT = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


@dataclass
class ReportValidation:
    file: str
    report: str
    naming: str
    rows_in: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    duplicates: int = 0
    late_events: int = 0
    quarantine_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_frame(frame: pd.DataFrame, report: Report) -> tuple[pd.DataFrame, pd.Series]:
    """(rows with AppsFlyer nulls normalised, reason per row: '' when valid).

    `frame` uses snake_case names; `_source`/`_line` columns are carried along untouched.
    """
    schema = report_schema(report)
    checked = [c for c in frame.columns if c in schema.columns]
    # Only the checked columns: the other fifty-odd are carried as sent, and normalising them
    # would cost more than all the checks together.
    data = frame.copy()
    data[checked] = frame[checked].replace(list(NULL_MARKERS), None)
    reasons = pd.Series("", index=frame.index, dtype=object)
    failures = failing_rows(schema, data[checked], _check_label)
    reasons.loc[failures.index] = failures.map(lambda labels: labels[0])  # one reason per row
    return data, reasons


def _check_label(check: Any) -> str:
    return "empty value" if str(check) == "not_nullable" else f"not {check}"


def validate_file(
    path: str,
    report_name: str | None = None,
    out_dir: Path | None = None,
    on_batch: Callable[[ReportValidation], None] | None = None,
) -> ReportValidation:
    fmt = detect_format(path)
    header = read_header(path, fmt)
    naming: Naming = "pull" if "AppsFlyer ID" in header else "snake"
    rename = {h: HEADER_TO_SNAKE.get(h, h) for h in header} if naming == "pull" else {}
    present = set(rename.get(h, h) for h in header)
    missing = [c for c in required_columns("snake") if c not in present]
    if missing:
        shown = (
            [k for k, v in HEADER_TO_SNAKE.items() if v == missing[0]] if naming == "pull" else []
        )
        raise DataSourceError(
            f"{path}: required column '{shown[0] if shown else missing[0]}' is missing",
            "an AppsFlyer raw report needs: " + ", ".join(required_columns(naming)),
        )
    report = resolve_report(report_name) if report_name else None
    result = ReportValidation(file=path, report=report.id if report else "", naming=naming)
    partition = _partition_date(path)
    seen: set[int] = set()
    reason_counts: Counter[str] = Counter()
    out_dir = out_dir or Path("quarantine")
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{Path(path).name}.quarantine.csv"
    partial = final.with_name(f".{final.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as sink:
        pd.DataFrame(columns=QUARANTINE_COLUMNS).to_csv(sink, index=False)
        for batch in _batches(path, fmt, header):
            if "_raw" in batch:  # lines the parser could not read as a row
                reasons = batch.pop("_reason")
                rejected = reject(result.report or "unknown", batch, reasons)
                bad_count = len(batch)
            else:
                batch = batch.rename(columns=rename)
                spans = batch.pop("_spans").to_numpy() if "_spans" in batch else None
                if report is None:
                    report = _detect(batch)
                    result.report = report.id
                data, reasons = validate_frame(batch, report)
                if spans is not None and spans.any():
                    reasons = reasons.mask(spans > 0, UNBALANCED)
                reasons = _mark_duplicates(data, reasons, seen)
                bad = (reasons != "").to_numpy()
                rejected = reject(report.id, batch[bad], reasons[bad])
                bad_count = int(bad.sum())
                if spans is not None and spans.any():
                    swallowed = _swallowed_lines(batch, spans, report.id)
                    rejected = pd.concat([rejected, swallowed], ignore_index=True)
                    bad_count += len(swallowed)
                    result.rows_in += len(swallowed)
                result.late_events += _late(data[~bad], partition)
            rejected.to_csv(sink, index=False, header=False)
            for reason, rows in rejected.groupby("reason"):
                reason_counts[str(reason)] += len(rows)
                samples = result.samples.setdefault(str(reason), [])
                head = rows.head(SAMPLES_PER_REASON - len(samples))
                samples.extend({str(k): v for k, v in r.items()} for r in head.to_dict("records"))
            result.rows_in += len(batch)
            result.rows_quarantined += bad_count
            result.rows_valid = result.rows_in - result.rows_quarantined
            result.duplicates = reason_counts[DUPLICATE]
            result.reasons = dict(reason_counts.most_common())
            if on_batch:
                on_batch(result)
    os.replace(partial, final)
    result.quarantine_path = str(final)
    if report is None:  # an empty report: the header alone
        result.report = report_name or "installs"
    return result


def _swallowed_lines(batch: pd.DataFrame, spans: np.ndarray, table: str) -> pd.DataFrame:
    """Quarantine records for the lines a row with an unbalanced quote ran over."""
    records = [
        {
            "table": table,
            "source": source,
            "line": line + k,
            "reason": UNBALANCED,
            "row": json.dumps({"part_of_line": int(line)}),
        }
        for source, line, span in zip(batch["_source"], batch["_line"], spans, strict=True)
        for k in range(1, int(span) + 1)
    ]
    return pd.DataFrame(records, columns=QUARANTINE_COLUMNS)


def _detect(batch: pd.DataFrame) -> Report:
    head = batch.head(1000)

    def values(name: str) -> list[str]:
        return head[name].astype(str).tolist() if name in head else []

    return detect_report(values("event_name"), values("media_source"), values("is_retargeting"))


def _mark_duplicates(data: pd.DataFrame, reasons: pd.Series, seen: set[int]) -> pd.Series:
    key_columns = [c for c in ("appsflyer_id", "event_time", "event_name") if c in data]
    candidates = (reasons == "").to_numpy()
    keys = pd.util.hash_pandas_object(data.loc[candidates, key_columns], index=False).to_numpy()
    duplicate = np.zeros(len(keys), dtype=bool)
    for i, key in enumerate(keys.tolist()):
        if key in seen:
            duplicate[i] = True
        else:
            seen.add(key)
    positions = np.flatnonzero(candidates)[duplicate]
    reasons = reasons.copy()
    reasons.iloc[positions] = DUPLICATE
    return reasons


def _partition_date(path: str) -> pd.Timestamp | None:
    match = _DT.search(path)
    return pd.Timestamp(match.group(1)) if match else None


def _late(valid: pd.DataFrame, partition: pd.Timestamp | None) -> int:
    """Rows whose event happened more than a day before the partition they landed in."""
    if partition is None or valid.empty or "event_time" not in valid:
        return 0
    times = pd.to_datetime(valid["event_time"], format="ISO8601", errors="coerce")
    return int((times < partition - pd.Timedelta(days=1)).sum())


def _batches(path: str, fmt: str, header: list[str]) -> Iterator[pd.DataFrame]:
    local = local_copy(path)
    try:
        if fmt in ("csv", "csv.gz"):
            yield from _csv_batches(local, path, header)
        elif fmt == "parquet":
            start = 1
            for record_batch in pq.ParquetFile(local).iter_batches(batch_size=200_000):
                frame = _as_strings(record_batch.to_pandas())
                frame["_source"], frame["_line"] = path, np.arange(start, start + len(frame))
                start += len(frame)
                yield frame
        else:
            yield from _jsonl_batches(local, path)
    except (pa.ArrowException, OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataSourceError(
            f"{path}: cannot be read as {fmt} ({str(exc).splitlines()[0][:200]})",
            "check that the file is complete and in its declared format",
        ) from None


def _csv_batches(local: str, path: str, header: list[str]) -> Iterator[pd.DataFrame]:
    bad: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number or -1, row.text))
        return "skip"

    reader = pacsv.open_csv(
        pa.input_stream(local),  # detects .gz from the name
        # One thread keeps exact line numbers in the invalid-row hook.
        read_options=pacsv.ReadOptions(use_threads=False, block_size=BATCH_BYTES),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    parsed = 0
    extra_lines = 0  # newlines swallowed by rows with an unbalanced quote, so far
    bad_lines: list[int] = []
    for record_batch in reader:
        # AppsFlyer values never hold a newline; one inside a field means an unbalanced quote
        # made the parser run a row over the following lines. Count them, per row.
        spans = np.zeros(record_batch.num_rows, dtype=np.int64)
        for column in record_batch.columns:
            spans += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        frame = record_batch.to_pandas()
        bad_lines.extend(n for n, _ in bad)
        before = np.concatenate([[0], np.cumsum(spans)[:-1]]) if len(spans) else spans
        lines = np.arange(parsed, parsed + len(frame)) + 2 + extra_lines + before  # header: 1
        for line in sorted(bad_lines):
            lines[lines >= line] += 1
        parsed += len(frame)
        extra_lines += int(spans.sum())
        frame["_source"], frame["_line"], frame["_spans"] = path, lines, spans
        yield frame
        if bad:
            yield _bad_rows(bad, path)
            bad.clear()
    if bad:
        yield _bad_rows(bad, path)


def _jsonl_batches(local: str, path: str, rows_per_batch: int = 100_000) -> Iterator[pd.DataFrame]:
    """Line by line: Push API payloads mix types between rows (`true` and `"true"`), which a
    typed JSON reader rejects, and a broken line must be quarantined, not fail the file."""
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    with open(local, encoding="utf-8") as fh:
        for number, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                bad.append((number, text.rstrip("\n")))
                continue
            records.append(record)
            lines.append(number)
            if len(records) == rows_per_batch:
                yield _records_frame(records, lines, path)
                records, lines = [], []
    if records:
        yield _records_frame(records, lines, path)
    if bad:
        yield _bad_rows(bad, path, "not a JSON object")


def _records_frame(records: list[dict[str, Any]], lines: list[int], path: str) -> pd.DataFrame:
    frame = _as_strings(pd.DataFrame.from_records(records))
    frame["_source"], frame["_line"] = path, lines
    return frame


def _bad_rows(
    bad: list[tuple[int, str]], path: str, reason: str = "wrong number of fields"
) -> pd.DataFrame:
    """One record per physical line: a row an unbalanced quote ran over several lines counts
    as all of them, so `rows_in` matches the file's line count."""
    texts, lines, reasons = [], [], []
    for number, text in bad:
        pieces = text.split("\n")
        for offset, piece in enumerate(pieces):
            texts.append(piece)
            lines.append(number + offset if number > 0 else number)
            reasons.append(UNBALANCED if len(pieces) > 1 else reason)
    rows = pd.DataFrame({"_raw": texts, "_reason": reasons})
    rows["_source"], rows["_line"] = path, lines
    return rows


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed Parquet/JSON values as the strings a CSV would carry (`true`, `{...}`, `4.99`)."""
    return frame.astype(object).map(to_text)


def to_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # Push API sends both "true" and true
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    return str(value)
