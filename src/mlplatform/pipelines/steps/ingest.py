"""Ingest: read the spec's data source into one table, keeping every unreadable row."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mlplatform.data.appsflyer.columns import EVENT_COLUMNS, HEADER_TO_SNAKE, INSTALL_COLUMNS
from mlplatform.data.appsflyer.features import build_install_table
from mlplatform.data.appsflyer.synthetic import GENERATOR_VERSION, generate
from mlplatform.data.quarantine import combine
from mlplatform.data.sources import detect_format, expand, read_files, read_header
from mlplatform.data.text_synthetic import GENERATOR_VERSION as TEXT_GENERATOR_VERSION
from mlplatform.data.text_synthetic import write_texts
from mlplatform.errors import DataSourceError
from mlplatform.pipelines.spec import (
    AnySpec,
    AppsFlyerSource,
    SyntheticSource,
    SyntheticTextSource,
    TableSource,
)
from mlplatform.settings import home

# Header -> internal name for the raw columns the install builder reads. Data Locker files
# already use the snake_case names, which map to themselves.
_INSTALL_MAP = {h: s for h, s in HEADER_TO_SNAKE.items() if s in INSTALL_COLUMNS} | {
    s: s for s in INSTALL_COLUMNS
}
_EVENT_MAP = {h: s for h, s in HEADER_TO_SNAKE.items() if s in EVENT_COLUMNS} | {
    s: s for s in EVENT_COLUMNS
}


TEXT_FILE = "texts.csv"


@dataclass
class IngestResult:
    table: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: dict[str, int]
    table_name: str
    sources: list[str] = field(default_factory=list)


def synthetic_dir(source: SyntheticSource | SyntheticTextSource) -> Path:
    """Generate once per parameter set: the generators are deterministic, so the cache is
    exact."""
    # The generator's version is part of the key: a newer generator writes different bytes.
    version = (
        TEXT_GENERATOR_VERSION if isinstance(source, SyntheticTextSource) else GENERATOR_VERSION
    )
    identity = f"{version}:{source.model_dump_json()}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:12]
    target = home() / "cache" / "synthetic" / key
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
        if isinstance(source, SyntheticTextSource):
            write_texts(staging / TEXT_FILE, rows=source.rows, seed=source.seed, noise=source.noise)
        else:
            generate(
                staging,
                installs=source.installs,
                seed=source.seed,
                days=source.days,
                app_id=source.app_id,
                malformed_fraction=source.malformed_fraction,
            )
        try:
            os.rename(staging, target)  # atomic: a concurrent or killed run never sees half
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    return target


def appsflyer_globs(source: SyntheticSource | AppsFlyerSource) -> tuple[list[str], list[str]]:
    if isinstance(source, SyntheticSource):
        root = synthetic_dir(source) / source.app_id
        return (
            [str(root / "*installs_report" / "dt=*" / "*.csv")],
            [str(root / "*in_app_events_report" / "dt=*" / "*.csv")],
        )
    return source.installs, source.in_app_events


def ingest(spec: AnySpec) -> IngestResult:
    source = spec.data.source
    if isinstance(source, TableSource | SyntheticTextSource):
        if isinstance(source, SyntheticTextSource):
            files, fmt = [str(synthetic_dir(source) / TEXT_FILE)], "csv"
        else:
            files, fmt = expand([source.path], "data.source.path"), source.format
        read = read_files(files, fmt, required=spec.required_columns(), table="rows")
        frame = read.frame.drop(columns=["_source", "_line"])
        return IngestResult(
            table=frame,
            rejected=read.rejected,
            rows_in={"rows": len(frame) + len(read.rejected)},
            table_name="rows",
            sources=files,
        )
    install_globs, event_globs = appsflyer_globs(source)
    install_files = expand(install_globs, "data.source.installs")
    event_files = expand(event_globs, "data.source.in_app_events")
    installs = read_files(install_files, "auto", _INSTALL_MAP, INSTALL_COLUMNS, True, "installs")
    events = read_files(event_files, "auto", _EVENT_MAP, EVENT_COLUMNS, True, "in_app_events")
    built = build_install_table(
        installs.frame,
        events.frame,
        purchase_days=tuple(source.purchase_label_days),
        revenue_days=tuple(source.revenue_label_days),
    )
    return IngestResult(
        table=built.table,
        rejected=combine(installs.rejected, events.rejected, built.rejected),
        rows_in={
            "installs": len(installs.frame) + len(installs.rejected),
            "in_app_events": len(events.frame) + len(events.rejected),
        },
        table_name="installs",
        sources=install_files + event_files,
    )


def preflight(spec: AnySpec) -> list[str]:
    """Check the source before any run starts: files exist, are readable, headers complete.

    Returns the files checked. Reads headers only, so it is cheap even for large sources.
    """
    source = spec.data.source
    if isinstance(source, SyntheticSource | SyntheticTextSource):
        return []
    checks: list[tuple[list[str], str, dict[str, str] | None, list[str]]]
    if isinstance(source, TableSource):
        checks = [([source.path], "data.source.path", None, spec.required_columns())]
    else:
        checks = [
            (source.installs, "data.source.installs", _INSTALL_MAP, list(INSTALL_COLUMNS)),
            (source.in_app_events, "data.source.in_app_events", _EVENT_MAP, list(EVENT_COLUMNS)),
        ]
    checked = []
    for patterns, field_name, mapping, required in checks:
        for path in expand(patterns, field_name):
            fmt = detect_format(path, getattr(source, "format", "auto"))
            header = read_header(path, fmt)
            names = {mapping.get(h, h) for h in header} if mapping else set(header)
            missing = [c for c in required if c not in names]
            if missing:
                raise DataSourceError(
                    f"{path}: required column '{missing[0]}' is missing from the header",
                    f"{field_name} must point at files with columns {', '.join(missing[:5])}",
                )
            checked.append(path)
    return checked
