"""Validate one AppsFlyer raw file, streaming, and report on it.

The file is read in chunks (CSV and CSV.gz through pyarrow's streaming reader, Parquet by row
group, JSONL line by line), so a file larger than memory validates in bounded memory. Each
chunk's checked columns go to polars, where the report's pandera schema runs as vectorised
expressions; only failing rows are ever turned into Python objects, for the quarantine file.
Every row ends up valid or quarantined, never dropped: `rows_in = rows_valid +
rows_quarantined`, always. Quarantined rows (failed checks, unparseable lines, duplicates of an
earlier row with the same AppsFlyer ID, event time and event name) go to one CSV with file,
line and reason.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from mlplatform.data.appsflyer.columns import HEADER_TO_SNAKE, NULL_MARKERS, internal_name
from mlplatform.data.appsflyer.reports import (
    REPORTS,
    Report,
    detect_report,
    mixes_reports,
    report_from_path,
    report_of_event,
    resolve_report,
)
from mlplatform.data.appsflyer.schemas import (
    Naming,
    null_markers_to_null,
    parse_timestamps,
    report_schema,
    required_columns,
    row_passes,
)
from mlplatform.data.quarantine import QUARANTINE_COLUMNS, reject
from mlplatform.data.sources import detect_format, local_copy, read_header
from mlplatform.errors import DataSourceError

# pyarrow parses CSV fastest in small blocks (they stay in cache: 1 MB blocks parse 1M
# in-app event rows in about half the time 64 MB blocks take); chunks of CHUNK_ROWS rows then
# amortise the per-chunk cost of the checks.
BLOCK_BYTES = 1 << 20
CHUNK_ROWS = 200_000
SAMPLES_PER_REASON = 3
DUPLICATE = "duplicate (same AppsFlyer ID, event time and event name)"
UNBALANCED = "unbalanced quote: the row runs over the following line(s)"
DUPLICATE_KEY = ("appsflyer_id", "event_time", "event_name")
# A re-engaged user's in-app event comes twice, once per attribution (UA and retargeting):
# not a duplicate, so the retargeting flag is part of the key where the file has it.
ATTRIBUTION_FLAG = "is_retargeting"
MIXED = "mixed (Push API postbacks: each row checked against its event's report)"
_DT = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")
_LATE_FOLDER = re.compile(r"[/\\]h=late[/\\]")  # Data Locker's folder for late arrivals


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


@dataclass
class _Chunk:
    """Rows as read: every value a string (or null), original column names."""

    table: pa.Table
    lines: np.ndarray  # the file line each row starts on
    spans: np.ndarray  # extra physical lines each row ran over (an unbalanced quote), CSV only


def row_reasons(frame: pl.DataFrame, report: Report) -> np.ndarray:
    """The reason each row fails the report schema ('' when it passes): the first failed rule,
    in rule order. `frame` uses snake_case names, null markers already nulls.

    One query with every rule finds the failing rows; pandera validates only those and names
    the reasons (see `schemas.row_passes`).
    """
    schema = report_schema(report)
    missing = [c for c in required_columns() if c not in frame.columns]
    if missing:
        raise DataSourceError(
            f"{report.id}: required column '{missing[0]}' is missing",
            "an AppsFlyer raw report needs: " + ", ".join(required_columns()),
        )
    present = [c for c in schema.columns if c in frame.columns]
    checked = frame.select(pl.col(present).cast(pl.String))
    reasons = np.full(frame.height, "", dtype=object)
    failing = np.flatnonzero(~checked.select(row_passes(report, present)).to_series().to_numpy())
    if not len(failing):
        return reasons
    try:
        schema.validate(checked[failing], lazy=True)
    except SchemaErrors as exc:
        order = {name: rank for rank, name in enumerate(schema.columns)}
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        nullability = pl.col("check") == "not_nullable"
        first = (
            cases.with_columns(
                rank=pl.col("column").replace_strict(order, return_dtype=pl.Int32),
                label=pl.col("column")
                + pl.when(nullability)
                .then(pl.lit(": empty value"))
                .otherwise(": not " + pl.col("check")),
            )
            .sort("index", "rank", "check_number", nulls_last=False)
            .unique("index", keep="first")
        )
        reasons[failing[first["index"].to_numpy()]] = first["label"].to_numpy()
    unnamed = failing[reasons[failing] == ""]
    if len(unnamed):  # the one-query rules and the pandera schema must never disagree
        raise AssertionError(f"rows {unnamed[:5].tolist()} fail the rules but pass the schema")
    return reasons


def validate_frame(frame: pd.DataFrame, report: Report) -> tuple[pd.DataFrame, pd.Series]:
    """(rows with AppsFlyer nulls normalised, reason per row: '' when valid) for a pandas frame.

    The same checks as `validate_file`; `frame` uses snake_case names and may carry
    `_source`/`_line` columns, which pass through untouched.
    """
    schema = report_schema(report)
    checked = [c for c in frame.columns if c in schema.columns]
    data = frame.copy()
    # Only the checked columns: the other fifty-odd are carried as sent.
    data[checked] = frame[checked].replace(list(NULL_MARKERS), None)
    # Arrow-backed strings: missing values of any kind become nulls, and polars reads them
    # without copying.
    polars_frame = pl.from_pandas(data[checked].astype("string[pyarrow]"))
    reasons = row_reasons(polars_frame, report)
    return data, pd.Series(reasons, index=frame.index, dtype=object)


class _SeenKeys:
    """64-bit hashes of the rows seen so far, as a few sorted numpy arrays.

    Runs merge like a binary counter (two of similar size become one), so a lookup costs a
    handful of binary searches and ten million keys take 80 MB — a Python set of them would
    take ten times that. Two different rows share a 64-bit hash with odds of about 1 in 10^6
    over ten million rows.
    """

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def add_new(self, keys: np.ndarray) -> np.ndarray:
        """Mark which keys were seen before (earlier chunks or earlier in `keys`); remember all."""
        seen = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            at = np.searchsorted(run, keys).clip(max=len(run) - 1)
            seen |= run[at] == keys
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        repeated = np.zeros(len(keys), dtype=bool)
        repeated[order[1:]] = ordered[1:] == ordered[:-1]  # a later copy of an earlier key
        seen |= repeated
        new = np.sort(keys[~seen])
        if len(new):
            self.runs.append(new)
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            newest = self.runs.pop()
            # Disjoint sorted runs: a stable sort of the two is a linear merge.
            merged = np.concatenate([self.runs[-1], newest])
            merged.sort(kind="stable")  # in place: one copy of the keys, not two
            self.runs[-1] = merged
        return seen


def validate_file(
    path: str,
    report_name: str | None = None,
    out_dir: Path | None = None,
    on_batch: Callable[[ReportValidation], None] | None = None,
) -> ReportValidation:
    fmt = detect_format(path)
    header = read_header(path, fmt)
    naming: Naming = "pull" if "AppsFlyer ID" in header else "snake"
    rename = {
        h: HEADER_TO_SNAKE.get(h, h) if naming == "pull" else internal_name(h) for h in header
    }
    present = set(rename.get(h, h) for h in header)
    missing = [c for c in required_columns("snake") if c not in present]
    if missing and fmt != "jsonl":  # JSON lines: a postback without a field fails on its own
        shown = (
            [k for k, v in HEADER_TO_SNAKE.items() if v == missing[0]] if naming == "pull" else []
        )
        raise DataSourceError(
            f"{path}: required column '{shown[0] if shown else missing[0]}' is missing",
            "an AppsFlyer raw report needs: " + ", ".join(required_columns(naming)),
        )
    # Named, else named by its folder (raw zone, Data Locker), else guessed from its rows.
    report = resolve_report(report_name) if report_name else report_from_path(path)
    result = ReportValidation(file=path, report=report.id if report else "", naming=naming)
    partition = _partition_date(path)
    mixed = False
    seen = _SeenKeys()
    reason_counts: Counter[str] = Counter()
    out_dir = out_dir or Path("quarantine")
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{Path(path).name}.quarantine.csv"
    partial = final.with_name(f".{final.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as sink:
        pd.DataFrame(columns=QUARANTINE_COLUMNS).to_csv(sink, index=False)
        for chunk in _chunks(path, fmt, header):
            if isinstance(chunk, pd.DataFrame):  # lines the parser could not read as a row
                rejected = reject(result.report or "unknown", chunk, chunk.pop("_reason"))
                rows_in, quarantined = len(chunk), len(chunk)
            else:
                table = chunk.table.rename_columns(
                    [rename.get(c, c) for c in chunk.table.schema.names]
                )
                if report is None and not mixed:
                    # Push API postbacks (JSON lines, or the receiver's Parquet) mix reports:
                    # then each row is checked against the report its event belongs to.
                    mixed = fmt in ("jsonl", "parquet") and mixes_reports(
                        _values(table, "event_name")
                    )
                    report = None if mixed else _detect(table)
                    result.report = MIXED if mixed else report.id  # type: ignore[union-attr]
                rejected, rows_in, quarantined, late = _check_chunk(
                    path, table, chunk, report, seen, partition
                )
                result.late_events += late
            rejected.to_csv(sink, index=False, header=False)
            for reason, rows in rejected.groupby("reason"):
                reason_counts[str(reason)] += len(rows)
                samples = result.samples.setdefault(str(reason), [])
                head = rows.head(SAMPLES_PER_REASON - len(samples))
                samples.extend({str(k): v for k, v in r.items()} for r in head.to_dict("records"))
            result.rows_in += rows_in
            result.rows_quarantined += quarantined
            result.rows_valid = result.rows_in - result.rows_quarantined
            result.duplicates = reason_counts[DUPLICATE]
            result.reasons = dict(reason_counts.most_common())
            if on_batch:
                on_batch(result)
    os.replace(partial, final)
    result.quarantine_path = str(final)
    if not result.report:  # an empty report: the header alone
        result.report = report_name or "installs"
    return result


def _check_chunk(
    path: str,
    table: pa.Table,
    chunk: _Chunk,
    report: Report | None,
    seen: _SeenKeys,
    partition: pd.Timestamp | None,
) -> tuple[pd.DataFrame, int, int, int]:
    """(quarantine records, rows in, rows quarantined, late events) for one chunk; `report`
    None checks each row against the report of its event."""
    reports = [report] if report else list(REPORTS.values())
    checked = [c for r in reports for c in report_schema(r).columns]
    absent = [c for c in required_columns() if c not in table.schema.names]
    for name in absent:  # JSON lines where no row has the field: every row fails on it
        table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    names = table.schema.names
    wanted = [c for c in dict.fromkeys([*checked, *DUPLICATE_KEY, ATTRIBUTION_FLAG]) if c in names]
    frame = null_markers_to_null(pl.from_arrow(table.select(wanted)), wanted)  # type: ignore[arg-type]
    if report is not None:
        reasons = row_reasons(frame, report)
    else:
        reasons = np.full(frame.height, "", dtype=object)
        for row_report, rows in _by_event_report(frame).items():
            reasons[rows] = row_reasons(frame[rows], row_report)
    reasons[chunk.spans > 0] = UNBALANCED
    valid = reasons == ""
    key = [c for c in (*DUPLICATE_KEY, ATTRIBUTION_FLAG) if c in frame.columns]
    keys = frame.select(pl.struct(key).hash(seed=0))[:, 0].to_numpy()
    duplicate = np.zeros(len(reasons), dtype=bool)
    duplicate[valid] = seen.add_new(keys[valid])
    reasons[duplicate] = DUPLICATE
    bad = np.flatnonzero(reasons != "")
    rows = table.take(pa.array(bad)).to_pandas()
    rows["_source"], rows["_line"] = path, chunk.lines[bad]
    table_name = report.id if report else "push_api"
    rejected = reject(table_name, rows, pd.Series(reasons[bad], dtype=object))
    rows_in, quarantined = table.num_rows, len(bad)
    if chunk.spans.any():
        swallowed = _swallowed_lines(path, chunk.lines, chunk.spans, table_name)
        rejected = pd.concat([rejected, swallowed], ignore_index=True)
        rows_in += len(swallowed)
        quarantined += len(swallowed)
    late = _late(frame.filter(pl.Series(reasons == "")), partition, path)
    return rejected, rows_in, quarantined, late


def _by_event_report(frame: pl.DataFrame) -> dict[Report, np.ndarray]:
    """Row positions per report, each row's report read from its event name and flag."""
    names = frame.get_column("event_name").fill_null("").to_numpy()
    flag = (
        frame.get_column(ATTRIBUTION_FLAG).fill_null("").to_numpy() == "true"
        if ATTRIBUTION_FLAG in frame.columns
        else np.zeros(frame.height, dtype=bool)
    )
    groups: dict[Report, list[np.ndarray]] = {}
    pairs = pl.DataFrame({"name": names, "flag": flag}).with_row_index("row")
    for (name, retargeting), rows in pairs.group_by("name", "flag"):
        report = report_of_event(str(name), bool(retargeting))
        groups.setdefault(report, []).append(rows["row"].to_numpy())
    return {report: np.sort(np.concatenate(parts)) for report, parts in groups.items()}


def _swallowed_lines(path: str, lines: np.ndarray, spans: np.ndarray, table: str) -> pd.DataFrame:
    """Quarantine records for the lines a row with an unbalanced quote ran over."""
    records = [
        {
            "table": table,
            "source": path,
            "line": int(line) + k,
            "reason": UNBALANCED,
            "row": json.dumps({"part_of_line": int(line)}),
        }
        for line, span in zip(lines[spans > 0], spans[spans > 0], strict=True)
        for k in range(1, int(span) + 1)
    ]
    return pd.DataFrame(records, columns=QUARANTINE_COLUMNS)


def _values(table: pa.Table, name: str, rows: int = 1000) -> list[str]:
    if name not in table.schema.names:
        return []
    return [str(v) for v in table.column(name).slice(0, rows).to_pylist() if v is not None]


def _detect(table: pa.Table) -> Report:
    return detect_report(
        _values(table, "event_name"),
        _values(table, "media_source"),
        _values(table, "is_retargeting"),
    )


def _partition_date(path: str) -> pd.Timestamp | None:
    match = _DT.search(path)
    return pd.Timestamp(match.group(1)) if match else None


def _late(valid: pl.DataFrame, partition: pd.Timestamp | None, path: str) -> int:
    """Rows whose event happened more than a day before the partition they landed in; every
    row of a Data Locker `h=late` folder (AppsFlyer put it there because it came late)."""
    if _LATE_FOLDER.search(path):
        return valid.height
    if partition is None or valid.is_empty() or "event_time" not in valid.columns:
        return 0
    cutoff = (partition - pd.Timedelta(days=1)).to_pydatetime()
    times = valid.select(parse_timestamps(pl.col("event_time")))[:, 0]
    return int((times < cutoff).sum())


def _chunks(path: str, fmt: str, header: list[str]) -> Iterator[_Chunk | pd.DataFrame]:
    """Chunks of rows, and (as pandas frames) lines that could not be read as rows.

    Read one chunk ahead on a second thread: pyarrow parses and polars checks without the
    GIL, so reading the next chunk overlaps checking this one (both cores busy), while memory
    stays bounded by two chunks.
    """
    return _read_ahead(_read_chunks(path, fmt, header))


def _read_ahead(items: Iterator[Any]) -> Iterator[Any]:
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            handoff.put(("error", exc))

    reader = threading.Thread(target=produce, name="appsflyer-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()


def _read_chunks(path: str, fmt: str, header: list[str]) -> Iterator[_Chunk | pd.DataFrame]:
    local = local_copy(path)
    try:
        if fmt in ("csv", "csv.gz"):
            yield from _csv_chunks(local, path, header)
        elif fmt == "parquet":
            start = 1
            for record_batch in pq.ParquetFile(local).iter_batches(batch_size=CHUNK_ROWS):
                table = _as_string_table(record_batch.to_pandas())
                lines = np.arange(start, start + table.num_rows)
                start += table.num_rows
                yield _Chunk(table, lines, np.zeros(table.num_rows, dtype=np.int64))
        else:
            yield from _jsonl_chunks(local, path)
    except (pa.ArrowException, OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataSourceError(
            f"{path}: cannot be read as {fmt} ({str(exc).splitlines()[0][:200]})",
            "check that the file is complete and in its declared format",
        ) from None


def _csv_chunks(local: str, path: str, header: list[str]) -> Iterator[_Chunk | pd.DataFrame]:
    bad: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number or -1, row.text))
        return "skip"

    reader = pacsv.open_csv(
        pa.input_stream(local),  # detects .gz from the name
        # One thread keeps exact line numbers in the invalid-row hook.
        read_options=pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    # pyarrow numbers records (the header is 1), and a record an unbalanced quote ran over
    # several lines is one record: file lines = record numbers + newlines swallowed before.
    # Skipped records may be reported a block early (the reader parses ahead), so they wait
    # in `waiting` until the rows around them have their numbers.
    next_record = 2
    swallowed = 0
    waiting: dict[int, str] = {}
    pending: list[tuple[pa.RecordBatch, np.ndarray, np.ndarray]] = []
    pending_rows = 0
    for record_batch in reader:
        waiting.update(bad)
        bad.clear()
        rows = record_batch.num_rows
        spans = _newlines_per_row(record_batch)
        skipped = np.array(sorted(waiting), dtype=np.int64)
        numbers = np.arange(next_record, next_record + rows + len(skipped))
        records = numbers[~np.isin(numbers, skipped)][:rows]
        last = int(records[-1]) if rows else next_record - 1
        placed = skipped[skipped <= last]
        every = np.concatenate([records, placed])
        newlines = np.concatenate([spans, [waiting[n].count("\n") for n in placed.tolist()]])
        order = np.argsort(every, kind="stable")
        lines = np.empty(len(every), dtype=np.int64)
        before = np.cumsum(newlines[order]) - newlines[order]
        lines[order] = every[order] + swallowed + before
        swallowed += int(newlines.sum())
        next_record = last + 1
        if len(placed):
            found = [
                (int(line), waiting.pop(n))
                for line, n in zip(lines[rows:], placed.tolist(), strict=True)
            ]
            yield _bad_rows(found, path)
        pending.append((record_batch, lines[:rows], spans))
        pending_rows += rows
        if pending_rows >= CHUNK_ROWS:
            yield _join(pending)
            pending, pending_rows = [], 0
    if pending:
        yield _join(pending)
    waiting.update(bad)
    if waiting:  # after the last parsed row: numbered in order, each after the ones before
        trailing = []
        for number in sorted(waiting):
            trailing.append((number + swallowed, waiting[number]))
            swallowed += waiting[number].count("\n")
        yield _bad_rows(trailing, path)


def _newlines_per_row(batch: pa.RecordBatch) -> np.ndarray:
    """AppsFlyer values never hold a newline; one inside a field means an unbalanced quote
    made the parser run a row over the following lines. Counted per row, when there are any."""
    spans = np.zeros(batch.num_rows, dtype=np.int64)
    if _holds_newline(batch):  # rare: only then count, row by row
        for column in batch.columns:
            spans += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    return spans


def _join(parts: list[tuple[pa.RecordBatch, np.ndarray, np.ndarray]]) -> _Chunk:
    return _Chunk(
        pa.Table.from_batches([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _holds_newline(batch: pa.RecordBatch) -> bool:
    """Whether any value's bytes hold a newline: one pass over the raw string buffers, many
    times faster than counting per value (may say yes for bytes outside a sliced array)."""
    for array in batch.columns:
        data = array.buffers()[2]
        if data is not None and np.count_nonzero(np.frombuffer(data, np.uint8) == 10):
            return True
    return False


def _jsonl_chunks(local: str, path: str) -> Iterator[_Chunk | pd.DataFrame]:
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
            if len(records) == CHUNK_ROWS:
                yield _records_chunk(records, lines)
                records, lines = [], []
    if records:
        yield _records_chunk(records, lines)
    if bad:
        yield _bad_rows(bad, path, "not a JSON object")


def _records_chunk(records: list[dict[str, Any]], lines: list[int]) -> _Chunk:
    table = _as_string_table(pd.DataFrame.from_records(records))
    return _Chunk(table, np.array(lines), np.zeros(len(lines), dtype=np.int64))


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


def _as_string_table(frame: pd.DataFrame) -> pa.Table:
    """Typed Parquet/JSON values as the strings a CSV would carry (`true`, `{...}`, `4.99`)."""
    return pa.Table.from_pydict(
        {str(c): pa.array([to_text(v) for v in frame[c].tolist()], pa.string()) for c in frame}
    )


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
