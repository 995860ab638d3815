"""Benchmark: validating an AppsFlyer in-app events CSV, ours vs the alternatives.

Same file, same machine, same run, each in a fresh process (wall time and peak memory):
- polars: parse only, every column as a string (the practical ceiling for reading the file);
- pandas + pandera: `read_csv(dtype=str)` then a pandera (pandas backend) schema with the same
  rules, written the way a pandas user would, lazily so every failing row is found;
- Great Expectations: the same rules as an expectation suite on a pandas dataframe, with the
  failing row indexes asked for (what quarantine needs); runs from `.venv-ge` (`make bench`
  makes it: Great Expectations pins its own stack, so it gets its own environment);
- mlplatform: `mlplatform appsflyer validate --json` (streaming, quarantine file, report).

Then ours alone on a file ten times bigger, under an address-space cap (RLIMIT_AS, as
`ulimit -v` sets) smaller than the file, to show it streams.

    python benchmarks/validation.py [--rows 1000000] [--stream-rows 10000000] [--work DIR]
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

GE_PYTHON = HERE.parent / ".venv-ge" / "bin" / "python"
# Below what the file needs loaded (polars alone needs about 1.5 GB per million rows here),
# above what the interpreter, pandas, pyarrow and polars reserve at start (about 2 GB of
# address space before a byte is read).
STREAM_CAP_BYTES = 4 * 2**30

POLARS = """
import sys, polars as pl
frame = pl.read_csv(sys.argv[1], infer_schema=False)
print(frame.height)
"""

# The rules of mlplatform's schemas (schemas.py), as pandas checks.
RULES = """
import json
TS = "%Y-%m-%d %H:%M:%S"
NULLS = ["", "null", "None", "N/A", "NULL"]
def timestamps(s):
    parsed = pd.to_datetime(s, format=TS, errors="coerce")
    frac = parsed.isna()
    parsed[frac] = pd.to_datetime(s[frac], format=TS + ".%f", errors="coerce")
    return parsed.notna()
def json_ok(s):
    verdicts = {}
    for v in s.unique():
        try:
            json.loads(v); verdicts[v] = True
        except (TypeError, ValueError):
            verdicts[v] = False
    return s.map(verdicts).astype(bool)
REGEX = {
    "AppsFlyer ID": r"\\d{13}-\\d+", "Event Revenue": r"-?\\d+(\\.\\d+)?",
    "Event Revenue USD": r"-?\\d+(\\.\\d+)?", "Cost Value": r"-?\\d+(\\.\\d+)?",
    "Event Revenue Currency": r"[A-Z]{3}", "Cost Currency": r"[A-Z]{3}",
    "Country Code": r"[A-Z]{2}",
}
ALLOWED = {
    "Platform": ["android", "ios", "windowsphone"],
    "Attributed Touch Type": ["click", "impression", "tv", "TV", "pre-installed"],
    "Event Source": ["SDK", "S2S"],
    "Is Receipt Validated": ["true", "false"], "WIFI": ["true", "false"],
    "Is Retargeting": ["true", "false"], "Is Primary Attribution": ["true", "false"],
}
TIMES = ["Event Time", "Install Time", "Attributed Touch Time",
         "Contributor 1 Touch Time", "Contributor 2 Touch Time", "Contributor 3 Touch Time"]
REQUIRED = ["AppsFlyer ID", "Event Time", "Install Time", "Event Name", "App ID", "Platform"]
CONVERSIONS = ["install", "reinstall", "uninstall", "re-engagement", "re-attribution"]
"""

PANDAS_PANDERA = (
    """
import sys, pandas as pd, pandera.pandas as pa
from pandera.errors import SchemaErrors
"""
    + RULES
    + """
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
frame = frame.replace(NULLS, None)
columns = {}
for name in set(REQUIRED) | set(REGEX) | set(ALLOWED) | set(TIMES) | {"Event Value"}:
    checks = []
    if name in REGEX:
        checks.append(pa.Check.str_matches(f"^(?:{REGEX[name]})$"))
    if name in ALLOWED:
        checks.append(pa.Check.isin(ALLOWED[name]))
    if name in TIMES:
        checks.append(pa.Check(timestamps, name="timestamp"))
    if name == "Event Value":
        checks.append(pa.Check(json_ok, name="json"))
    if name == "Event Name":
        checks.append(pa.Check.notin(CONVERSIONS))
    columns[name] = pa.Column(str, checks=checks, nullable=name not in REQUIRED, required=False)
try:
    pa.DataFrameSchema(columns).validate(frame, lazy=True)
    print(0)
except SchemaErrors as exc:
    print(exc.failure_cases["index"].nunique())
"""
)

GREAT_EXPECTATIONS = (
    """
import sys, pandas as pd, great_expectations as gx
import great_expectations.expectations as gxe
"""
    + RULES
    + """
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False).replace(NULLS, None)
context = gx.get_context(mode="ephemeral")
batch = (
    context.data_sources.add_pandas("raw").add_dataframe_asset("events")
    .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
)
suite = context.suites.add(gx.ExpectationSuite(name="in_app_events"))
for name in REQUIRED:
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name))
for name, regex in REGEX.items():
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=f"^{regex}$"))
for name, allowed in ALLOWED.items():
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=allowed))
for name in TIMES:
    suite.add_expectation(
        gxe.ExpectColumnValuesToMatchStrftimeFormat(column=name, strftime_format=TS)
    )
suite.add_expectation(gxe.ExpectColumnValuesToBeJsonParseable(column="Event Value"))
suite.add_expectation(
    gxe.ExpectColumnValuesToNotBeInSet(column="Event Name", value_set=CONVERSIONS)
)
result = batch.validate(suite, result_format="COMPLETE")
failing = set()
for r in result.results:
    failing.update(r.result.get("unexpected_index_list") or [])
print(len(failing))
"""
)


def make_file(rows: int, work: Path) -> Path:
    """An in-app events CSV of `rows` rows from the seeded generator (not timed)."""
    target = work / f"in_app_events_{rows}.csv"
    if target.exists():
        return target
    from mlplatform.data.appsflyer.synthetic import generate

    raw = generate(
        work / f"raw-validation-{rows}",
        installs=max(int(rows * 0.55), 1000),  # about 1.9 events per install: enough rows
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


def make_big_file(source: Path, copies: int, work: Path) -> Path:
    """`copies` copies of `source`'s rows, each shifted by whole years so no row repeats another
    (a repeat would be a duplicate, quarantined); written in 64 MB pieces, never held whole."""
    target = work / f"{source.stem}_x{copies}.csv"
    if target.exists():
        return target
    with source.open("rb") as fh:
        header = fh.readline()
    with target.open("wb") as out:
        out.write(header)
        for copy in range(copies):
            with source.open("rb") as fh:
                fh.readline()
                while piece := fh.read(64 << 20):
                    piece += fh.readline()  # whole lines only
                    out.write(piece.replace(b"2026-", b"%d-" % (2026 + copy)))
    return target


def ours(path: Path, work: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlplatform.cli.main",
        "appsflyer",
        "validate",
        str(path),
        "--json",
        "--out",
        str(work / "q"),
    ]


def compare(path: Path, work: Path) -> dict[str, object]:
    """Ours against polars (parse only), pandas + pandera and Great Expectations."""
    runs = {
        "polars parse only": [sys.executable, "-c", POLARS, str(path)],
        "pandas + pandera": [sys.executable, "-c", PANDAS_PANDERA, str(path)],
        "mlplatform validate": ours(path, work),
    }
    if GE_PYTHON.exists():
        runs["Great Expectations"] = [str(GE_PYTHON), "-c", GREAT_EXPECTATIONS, str(path)]
    else:
        print(f"Great Expectations skipped: {GE_PYTHON} missing (make bench creates it)")
    results = {}
    rows_in = 0
    for name, command in runs.items():
        print(f"{name} ...", flush=True)
        m = measure(name, command, cwd=str(work))
        if m.returncode != 0:
            raise SystemExit(f"{name} failed:\n{m.stdout[-2000:]}")
        flagged = m.stdout.strip().splitlines()[-1]
        if name == "mlplatform validate":
            report = json.loads(flagged)
            flagged, rows_in = str(report["rows_quarantined"]), int(report["rows_in"])
        results[name] = {
            "seconds": round(m.seconds, 1),
            "peak_mb": round(m.peak_mb),
            "rows_flagged": int(flagged),
        }
    mine = results["mlplatform validate"]["seconds"]
    summary: dict[str, object] = {
        "rows": rows_in,
        "file_mb": round(path.stat().st_size / 2**20),
        "results": results,
        "parse_throughput_ratio": round(results["polars parse only"]["seconds"] / mine, 2),
        "speedup_vs_pandas_pandera": round(results["pandas + pandera"]["seconds"] / mine, 2),
    }
    if "Great Expectations" in results:
        summary["speedup_vs_great_expectations"] = round(
            results["Great Expectations"]["seconds"] / mine, 2
        )
    return summary


def stream(path: Path, copies: int, work: Path) -> dict[str, object]:
    """Ours on a file `copies` times bigger, under an address-space cap; polars, which loads
    the whole file, under the same cap for contrast."""
    print(f"writing {copies} copies of {path.name} ...", flush=True)
    big = make_big_file(path, copies, work)
    print(f"mlplatform validate, {big.stat().st_size / 2**30:.1f} GB under a cap ...", flush=True)
    capped = {"address_space_bytes": STREAM_CAP_BYTES, "timeout_s": 3600.0}
    m = measure("stream", ours(big, work), cwd=str(work), **capped)  # type: ignore[arg-type]
    if m.returncode != 0:
        raise SystemExit(f"streaming run failed:\n{m.stdout[-2000:]}")
    report = json.loads(m.stdout.strip().splitlines()[-1])
    print("polars parse only, same cap ...", flush=True)
    contrast = measure(
        "polars capped",
        [sys.executable, "-c", POLARS, str(big)],
        cwd=str(work),
        address_space_bytes=STREAM_CAP_BYTES,
        timeout_s=300.0,  # an allocation failure inside Rust can leave the process hanging
    )
    return {
        "rows": report["rows_in"],
        "file_gb": round(big.stat().st_size / 2**30, 2),
        "address_space_cap_gb": STREAM_CAP_BYTES / 2**30,
        "seconds": round(m.seconds, 1),
        "peak_mb": round(m.peak_mb),
        "rows_quarantined": report["rows_quarantined"],
        "polars_parse_under_same_cap": "completed"
        if contrast.returncode == 0
        else f"failed (exit {contrast.returncode}) after {contrast.seconds:.0f} s",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream-rows", type=int, default=10_000_000)
    parser.add_argument("--part", choices=["all", "compare", "stream"], default="all")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlplatform-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = make_file(args.rows, work)
    out = HERE / "results" / "validation.json"
    summary = json.loads(out.read_text()) if out.exists() and args.part != "all" else {}
    if args.part in ("all", "compare"):
        summary.update(compare(path, work))
    if args.part in ("all", "stream") and args.stream_rows:
        summary["stream"] = stream(path, max(1, args.stream_rows // args.rows), work)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
