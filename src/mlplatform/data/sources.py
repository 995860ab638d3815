"""Reading data sources: local paths, globs and s3:// URIs in CSV, CSV.gz, Parquet or JSONL.

Every reader returns rows plus the lines it could not parse (with file and line number), so a
malformed row is quarantined, never silently skipped. S3 objects are fetched with boto3, which
honours `AWS_ENDPOINT_URL`/`AWS_ENDPOINT_URL_S3` like every AWS client in the platform.
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import gzip
import hashlib
import json
import os
import tempfile
import uuid
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from mlplatform.data.quarantine import combine, empty_rejections, reject
from mlplatform.errors import DataSourceError

FORMATS = ("csv", "csv.gz", "parquet", "jsonl")


@dataclass
class ReadResult:
    """Rows that parsed (with `_source` and `_line` columns) and rows that did not."""

    frame: pd.DataFrame
    rejected: pd.DataFrame


def detect_format(path: str, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    name = path.lower()
    for suffix, fmt in ((".csv.gz", "csv.gz"), (".gz", "csv.gz"), (".csv", "csv")):
        if name.endswith(suffix):
            return fmt
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise DataSourceError(
        f"{path}: cannot tell the file format from its name",
        f"set data.source.format to one of {', '.join(FORMATS)}",
    )


def expand(patterns: Iterable[str], field: str) -> list[str]:
    """Every file the patterns name, sorted; an empty match is an error naming the pattern."""
    files: list[str] = []
    for pattern in patterns:
        matches = _expand_s3(pattern) if pattern.startswith("s3://") else _expand_local(pattern)
        if not matches:
            raise DataSourceError(
                f"{field}: no file matches '{pattern}'",
                "check the path, or run `mlplatform appsflyer generate` for synthetic data",
            )
        files.extend(matches)
    return files


def _expand_local(pattern: str) -> list[str]:
    path = os.path.expanduser(pattern)
    if glob.has_magic(path):
        return sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
    if os.path.isdir(path):
        return sorted(
            str(p)
            for p in Path(path).rglob("*")
            if p.is_file() and not p.name.startswith(("_", "."))
        )
    return [path] if os.path.isfile(path) else []


def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _expand_s3(pattern: str) -> list[str]:
    bucket, key = _split_s3(pattern)
    prefix = key
    for i, ch in enumerate(key):
        if ch in "*?[":
            prefix = key[:i]
            break
    try:
        paginator = _s3_client().get_paginator("list_objects_v2")
        keys = [
            obj["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]
    except Exception as exc:  # botocore raises many types; all mean "cannot list"
        raise DataSourceError(
            f"{pattern}: cannot list S3 objects ({type(exc).__name__}: {exc})",
            "check AWS credentials, the bucket name and AWS_ENDPOINT_URL",
        ) from None
    if glob.has_magic(key):
        keys = [k for k in keys if fnmatch.fnmatchcase(k, key)]
    elif key and not key.endswith("/"):
        keys = [k for k in keys if k == key or k.startswith(key + "/")]
    return [f"s3://{bucket}/{k}" for k in sorted(keys) if not k.rsplit("/", 1)[-1].startswith("_")]


def local_copy(uri: str) -> str:
    """A local path for `uri`: itself, or a cached download of an S3 object."""
    if not uri.startswith("s3://"):
        if not os.path.isfile(uri):
            raise DataSourceError(f"{uri}: no such file", "check the path")
        return uri
    bucket, key = _split_s3(uri)
    client = _s3_client()
    try:
        # The ETag is in the cache key: a rewritten object is fetched again, never served stale.
        etag = client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    except Exception as exc:  # botocore raises many types; all mean "cannot read"
        raise DataSourceError(
            f"{uri}: cannot read ({type(exc).__name__}: {exc})",
            "check AWS credentials, the object key and AWS_ENDPOINT_URL",
        ) from None
    cache = Path(tempfile.gettempdir()) / "mlplatform-s3-cache"
    cache.mkdir(exist_ok=True)
    digest = hashlib.sha256(f"{uri}@{etag}".encode()).hexdigest()[:16]
    target = cache / f"{digest}-{uri.rsplit('/', 1)[-1]}"
    if not target.exists():
        partial = target.with_suffix(target.suffix + f".{uuid.uuid4().hex[:8]}.part")
        try:
            client.download_file(bucket, key, str(partial))
        except Exception as exc:
            raise DataSourceError(
                f"{uri}: cannot download ({type(exc).__name__}: {exc})",
                "check AWS credentials, the object key and AWS_ENDPOINT_URL",
            ) from None
        partial.rename(target)  # atomic: a half download is never mistaken for a file
    return str(target)


def read_header(path: str, fmt: str) -> list[str]:
    """Column names without reading the rows (for preflight checks)."""
    local = local_copy(path)
    try:
        if fmt in ("csv", "csv.gz"):
            opener = gzip.open if fmt == "csv.gz" else open
            with opener(local, "rt", encoding="utf-8", newline="") as fh:
                return next(csv.reader([fh.readline()]), [])
        if fmt == "parquet":
            return list(pq.read_schema(local).names)
        with open(local, encoding="utf-8") as fh:
            # The first line that is a JSON object: a broken line is the rows' problem (the
            # validator quarantines it), not a reason to refuse the file.
            for line, _ in zip(fh, range(1000), strict=False):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    return list(record)
            return []
    except (
        OSError,
        UnicodeDecodeError,
        ValueError,
        EOFError,
        zlib.error,
        pa.ArrowException,
    ) as exc:
        raise DataSourceError(
            f"{path}: cannot read the header ({_first_line(exc)})",
            f"check that the file is valid {fmt}",
        ) from None


def read_files(
    files: list[str],
    fmt: str,
    columns: Mapping[str, str] | None = None,
    required: Iterable[str] = (),
    as_strings: bool = False,
    table: str = "data",
) -> ReadResult:
    """Read and concatenate files; `columns` maps file header -> internal name (a subset)."""

    position = {path: i for i, path in enumerate(files)}

    def read(path: str) -> ReadResult:
        result = _read_one(
            path, detect_format(path, fmt), columns, list(required), as_strings, table
        )
        # Every frame shares one category list, so the concatenated column stays a category
        # (a path repeated on a million rows would otherwise be a million strings).
        result.frame["_source"] = pd.Categorical.from_codes(
            np.full(len(result.frame), position[path], dtype=np.int32),
            dtype=pd.CategoricalDtype(files),
        )
        return result

    # Parsing happens in Arrow's C++ without the GIL, so threads read files side by side.
    with ThreadPoolExecutor(
        max_workers=max(1, min(len(files), len(os.sched_getaffinity(0))))
    ) as pool:
        results = list(pool.map(read, files))
    frames = [r.frame for r in results]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return ReadResult(frame=frame, rejected=combine(*(r.rejected for r in results)))


def _read_one(
    path: str,
    fmt: str,
    columns: Mapping[str, str] | None,
    required: list[str],
    as_strings: bool,
    table: str,
) -> ReadResult:
    header = read_header(path, fmt)
    rename = {h: columns.get(h, h) for h in header} if columns else {h: h for h in header}
    present = set(rename.values())
    missing = [c for c in required if c not in present]
    if missing:
        raise DataSourceError(
            f"{path}: required column '{missing[0]}' is missing"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            f"the file has: {', '.join(header[:12])}{' …' if len(header) > 12 else ''}",
        )
    wanted = [h for h in header if rename[h] in (set(columns.values()) if columns else present)]
    local = local_copy(path)
    bad_lines: list[tuple[int, str]] = []
    try:
        if fmt in ("csv", "csv.gz"):
            arrow = _read_csv(local, header, wanted, as_strings, bad_lines)
        elif fmt == "parquet":
            arrow = pq.read_table(local, columns=wanted)
        else:
            arrow = pajson.read_json(local).select(wanted)
    except (pa.ArrowException, OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        raise DataSourceError(
            f"{path}: cannot be read as {fmt} ({_first_line(exc)})",
            "check that the file is complete and in the declared format",
        ) from None
    frame = arrow.to_pandas().rename(columns=rename)
    if as_strings:
        for column in frame.columns:
            # CSV columns already arrive as non-null strings; typed Parquet/JSON ones do not.
            if not pd.api.types.is_string_dtype(frame[column].dtype) or frame[column].hasnans:
                frame[column] = frame[column].map(lambda v: "" if pd.isna(v) else str(v))
    frame["_source"] = path
    frame["_line"] = (
        _line_numbers(len(frame), [n for n, _ in bad_lines])
        if fmt != "parquet"
        else (np.arange(len(frame)) + 1)
    )
    if fmt in ("csv", "csv.gz"):
        _check_no_lines_merged(local, fmt, path, len(frame), bad_lines)
    bad = pd.DataFrame(
        {"_raw": [t for _, t in bad_lines], "_source": path, "_line": [n for n, _ in bad_lines]}
    )
    rejected = reject(table, bad, "wrong number of fields") if bad_lines else empty_rejections()
    return ReadResult(frame=frame, rejected=rejected)


def _read_csv(
    local: str, header: list[str], wanted: list[str], as_strings: bool, bad: list[tuple[int, str]]
) -> pa.Table:
    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number or -1, row.text))
        return "skip"

    types = {h: pa.string() for h in wanted} if as_strings else {}
    return pacsv.read_csv(
        local,
        # One thread keeps exact line numbers in the invalid-row hook.
        read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=types,
            # Only an empty field is null: pyarrow's defaults would also turn "n/a", "NA" or
            # "null" into nulls that then pass a "may be empty" check unseen.
            null_values=[""],
            strings_can_be_null=not as_strings,
            quoted_strings_can_be_null=not as_strings,
        ),
    )


def _check_no_lines_merged(
    local: str, fmt: str, path: str, parsed: int, bad_lines: list[tuple[int, str]]
) -> None:
    """An unbalanced quote makes a CSV parser glue the following lines into one row. Values
    here never hold newlines, so rows + broken lines must account for every line of the file;
    if they do not, stop rather than lose rows without a trace."""
    opener = gzip.open if fmt == "csv.gz" else open
    lines, last = 0, b"\n"
    with opener(local, "rb") as fh:
        while chunk := fh.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += 0 if last == b"\n" else 1
    accounted = 1 + parsed + sum(text.count("\n") + 1 for _, text in bad_lines)  # 1: header
    if lines != accounted:
        raise DataSourceError(
            f"{path}: {lines - 1} data lines but {accounted - 1} rows: an unbalanced quote "
            "glued lines together",
            f"find them with `mlplatform appsflyer validate {path}` and fix or remove the file",
        )


def _line_numbers(n_rows: int, bad_lines: list[int]) -> np.ndarray:
    """File line of each parsed row: header is line 1; skipped bad lines shift the rest."""
    lines = np.arange(n_rows) + 2
    for bad in sorted(x for x in bad_lines if x > 0):
        lines[lines >= bad] += 1
    return lines


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
