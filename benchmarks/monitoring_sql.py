"""Monitoring report over 10,000 runs (≈100k tasks) read by the SQL collector (goal ≤ 1 s).

    .venv/bin/python benchmarks/monitoring_sql.py [--runs 10000] [--tasks-per-run 10]

Starts a throwaway PostgreSQL (tests/servers/postgres.py), creates the metadata service's
schema, generates runs in the service's row shapes (tests/servers/metaflow_db.py: completed,
failed, crashed before `end`, running; retries; Batch instance types), then times
`SqlCollector.collect` plus `build_report` (every group the report prints, cost included).
Every status is checked against what the generator wrote,
so a fast but wrong collector fails here. Measured in the same run, as a yardstick for the
machine: one bare sequential scan of metadata_v3 (the floor for any query over all runs) and a
1M-iteration Python loop (≈0.05 s on an idle modern core). The client-API half (about 200
real local runs) is a separate script; the ratio is per-run cost of one over the other.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from tests.servers.metaflow_db import (  # noqa: E402
    MetadataWriter,
    create_indexes,
    create_schema,
    generate_runs,
)
from tests.servers.postgres import start_postgres  # noqa: E402

from mlplatform.monitoring.collect_sql import SqlCollector  # noqa: E402
from mlplatform.monitoring.cost import PriceTable  # noqa: E402
from mlplatform.monitoring.metrics import Report  # noqa: E402
from mlplatform.monitoring.records import RunRecord  # noqa: E402
from mlplatform.monitoring.report_data import build_report  # noqa: E402
from mlplatform.settings import Settings  # noqa: E402


def aggregate(records: list[RunRecord], since: datetime, until: datetime) -> Report:
    """The whole report `mlplatform monitor report` prints: every group, cost included."""
    return build_report(records, since, until, PriceTable.load(Settings()))


def calibrate(url: str) -> dict[str, float]:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT count(*) FROM metadata_v3")  # warm the cache as collect finds it
        started = time.perf_counter()
        conn.execute("SELECT count(*) FROM metadata_v3").fetchone()
        scan = time.perf_counter() - started
    started = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    return {"bare_scan_seconds": round(scan, 3),
            "python_loop_1m_seconds": round(time.perf_counter() - started, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--tasks-per-run", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="timed collections; best is kept")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="monitoring-sql-bench-") as folder:
        server = start_postgres(Path(folder))
        try:
            started = time.perf_counter()
            with psycopg.connect(server.url) as conn:
                create_schema(conn, indexes=False)  # bulk load first, index after
                writer = MetadataWriter(conn)
                expected = generate_runs(writer, args.runs, args.tasks_per_run, seed=7, now=now)
                writer.flush()
                create_indexes(conn)
                rows = {
                    table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                    for table in ("runs_v3", "tasks_v3", "metadata_v3", "artifact_v3")
                }
            load_seconds = time.perf_counter() - started
            print(f"loaded {rows} in {load_seconds:.1f} s")
            collector = SqlCollector(server.url, heartbeat_cutoff_seconds=600, now=lambda: now)
            since = now - timedelta(days=31)
            timings = []
            yardstick = calibrate(server.url)
            for _ in range(args.repeat):
                started = time.perf_counter()
                records = collector.collect(since)
                collected = time.perf_counter() - started
                report = aggregate(records, since, now)
                timings.append((collected, time.perf_counter() - started))
            started = time.perf_counter()  # the alert rules' usual question: the last day
            last_day = collector.collect(now - timedelta(days=1))
            last_day_seconds = time.perf_counter() - started
        finally:
            server.stop()
    statuses = Counter(r.status for r in records)
    if statuses != expected or len(records) != args.runs:
        raise SystemExit(f"wrong statuses: collected {dict(statuses)}, wrote {dict(expected)}")
    collect_s, total_s = min(timings, key=lambda t: t[1])
    tasks = sum(len(r.tasks) for r in records)
    result = {
        "runs": len(records),
        "task_attempts": tasks,
        "pipelines": len(report.by_pipeline),
        "statuses": dict(statuses),
        "collect_seconds": round(collect_s, 3),
        "report_seconds": round(total_s, 3),
        "per_run_ms": round(1000 * total_s / len(records), 4),
        "goal_seconds": 1.0,
        "goal_met": total_s <= 1.0,
        **yardstick,
        "all_timings": [[round(a, 3), round(b, 3)] for a, b in timings],
        "last_day": {"runs": len(last_day), "collect_seconds": round(last_day_seconds, 3)},
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
