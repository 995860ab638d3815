"""Benchmark: validating an AppsFlyer in-app events CSV, ours vs the alternatives.

Same file, same machine, same run, each in a fresh process (wall time and peak memory):
- polars: parse only, every column as a string (the practical ceiling for reading the file);
- pandas + pandera: `read_csv(dtype=str)` then a pandera schema with the same checks, in one go;
- mlplatform: `mlplatform appsflyer validate --json` (streaming, quarantine file, report).

    python benchmarks/validation.py [--rows 1000000] [--work /tmp/bench]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import measure  # noqa: E402

POLARS = """
import sys, polars as pl
frame = pl.read_csv(sys.argv[1], infer_schema=False)
print(frame.height)
"""

PANDAS_PANDERA = """
import sys, pandas as pd
from mlplatform.data.appsflyer.columns import HEADER_TO_SNAKE, NULL_MARKERS
from mlplatform.data.appsflyer.reports import REPORTS
from mlplatform.data.appsflyer.schemas import report_schema
from pandera.errors import SchemaErrors
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False).rename(columns=HEADER_TO_SNAKE)
frame = frame.replace(list(NULL_MARKERS), None)
try:
    report_schema(REPORTS["in_app_events"]).validate(frame, lazy=True)
    print(0)
except SchemaErrors as exc:
    print(exc.failure_cases["index"].nunique())
"""


def make_file(rows: int, work: Path) -> Path:
    """An in-app events CSV of `rows` rows from the seeded generator (not timed)."""
    target = work / f"in_app_events_{rows}.csv"
    if target.exists():
        return target
    from mlplatform.data.appsflyer.synthetic import generate

    raw = generate(
        work / f"raw-validation-{rows}",
        installs=max(rows // 2, 1000),
        seed=3,
        malformed_fraction=0.001,
    )
    written = 0
    with target.open("w", encoding="utf-8") as out:
        for index, part in enumerate(raw.files["in_app_events_report"]):
            with part.open(encoding="utf-8") as fh:
                header = fh.readline()
                if index == 0:
                    out.write(header)
                for line in fh:
                    if written == rows:
                        return target
                    out.write(line)
                    written += 1
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlplatform-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = make_file(args.rows, work)
    size_mb = path.stat().st_size / 2**20
    runs = {
        "polars parse only": [sys.executable, "-c", POLARS, str(path)],
        "pandas + pandera": [sys.executable, "-c", PANDAS_PANDERA, str(path)],
        "mlplatform validate": [
            sys.executable,
            "-m",
            "mlplatform.cli.main",
            "appsflyer",
            "validate",
            str(path),
            "--json",
            "--out",
            str(work / "q"),
        ],
    }
    results = {}
    for name, command in runs.items():
        print(f"{name} ...", flush=True)
        m = measure(name, command, cwd=str(work))
        if m.returncode != 0:
            raise SystemExit(f"{name} failed:\n{m.stdout[-2000:]}")
        results[name] = {"seconds": round(m.seconds, 1), "peak_mb": round(m.peak_mb)}
    ours = results["mlplatform validate"]["seconds"]
    summary = {
        "rows": args.rows,
        "file_mb": round(size_mb),
        "results": results,
        "parse_throughput_ratio": round(results["polars parse only"]["seconds"] / ours, 2),
        "speedup_vs_pandas_pandera": round(results["pandas + pandera"]["seconds"] / ours, 2),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "validation.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
