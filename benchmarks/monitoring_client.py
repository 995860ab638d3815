"""Monitoring over ~200 real local Metaflow runs read by the client-API collector: per-run cost.

    .venv/bin/python benchmarks/monitoring_client.py --work DIR [--runs 200] [--latency-ms 20]

Creates the runs once in DIR (a three-step flow, every tenth run failing in its middle step;
runs already there are kept and topped up) and then times, in this process:

- `ClientCollector.collect` with 1 and 4 worker threads (statuses are checked against what was
  run, so a fast but wrong collector fails here);
- the baseline a monitoring script would write with the client API: per run
  `Run.successful` / `finished_at`, per task `finished_at` and, for failures, `exception`.

Per-run cost is wall time per run, metadata requests per run (each one HTTP GET on the service;
locally a glob and small JSON reads) and datastore reads per run (S3 GETs in production, the
slow part there). `--latency-ms` adds a simulated round trip to every metadata request, to
estimate the service case from local runs. The SQL half is benchmarks/monitoring_sql.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FLOW_NAME = "MonitoringBenchFlow"
FAIL_EVERY = 10
FLOW = """
from metaflow import FlowSpec, Parameter, step


class MonitoringBenchFlow(FlowSpec):
    fail = Parameter("fail", type=bool, default=False)

    @step
    def start(self):
        self.next(self.work)

    @step
    def work(self):
        if self.fail:
            raise ValueError("benchmark failure")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MonitoringBenchFlow()
"""


def _env(work: Path) -> dict[str, str]:
    return dict(os.environ) | {
        "METAFLOW_USER": "bench",
        "USER": os.environ.get("USER", "bench"),
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(work),
    }


def _existing_runs(work: Path) -> int:
    flow_dir = work / ".metaflow" / FLOW_NAME
    return sum(1 for p in flow_dir.glob("*/_meta/_self.json")) if flow_dir.is_dir() else 0


def create_runs(work: Path, count: int, lanes: int) -> float:
    """Top the datastore up to `count` runs; returns the seconds it took."""
    flow = work / "monitoring_bench_flow.py"
    flow.write_text(FLOW)
    have = _existing_runs(work)
    numbers = range(have, count)
    started = time.perf_counter()

    def one(n: int) -> None:
        args = ["--fail", "True"] if n % FAIL_EVERY == FAIL_EVERY - 1 else []
        command = [sys.executable, str(flow), "run", *args]
        subprocess.run(command, cwd=work, env=_env(work), capture_output=True, timeout=600)

    with ThreadPoolExecutor(lanes) as pool:
        for i, _ in enumerate(pool.map(one, numbers), start=1):
            if i % 20 == 0:
                print(f"  {have + i}/{count} runs", flush=True)
    return time.perf_counter() - started


def naive_collect(flow_name: str) -> Counter[str]:
    """The client API used the obvious way: artifact-backed properties per run and task."""
    from metaflow import Flow

    statuses: Counter[str] = Counter()
    for run in Flow(flow_name, _namespace_check=False):
        if run.successful:
            statuses["completed"] += 1
            _ = run.finished_at
        for step in run:
            for task in step:
                _ = task.created_at, task.finished_at
                if task.finished and not task.successful:
                    _ = type(task.exception).__name__
                    statuses["failed"] += 1
    return statuses


def counting_calls(latency_s: float) -> tuple[Callable[[], Counter[str]], Callable[[], None]]:
    """Count the client's metadata requests and datastore reads; returns (read, restore).

    Only outermost `get_object` calls count: the local provider calls itself (each listed task
    re-reads its run's tags), the service answers each outer call with one HTTP GET. Each
    request waits `latency_s` first, to stand in for a service round trip.
    """
    from metaflow.metadata_provider.metadata import MetadataProvider
    from metaflow.plugins.datastores.local_storage import LocalStorage

    get_object, load_bytes = MetadataProvider.__dict__["get_object"], LocalStorage.load_bytes
    counts: Counter[str] = Counter()
    depth = threading.local()

    def counted_get_object(cls: Any, *args: Any, **kwargs: Any) -> Any:
        level = getattr(depth, "level", 0)
        if level == 0:
            counts["metadata_requests"] += 1
            time.sleep(latency_s)
        depth.level = level + 1
        try:
            return get_object.__func__(cls, *args, **kwargs)
        finally:
            depth.level = level

    def counted_load_bytes(self: Any, paths: Any) -> Any:
        paths = list(paths)
        counts["datastore_reads"] += len(paths)
        return load_bytes(self, paths)

    MetadataProvider.get_object = classmethod(counted_get_object)  # type: ignore[method-assign,assignment]
    LocalStorage.load_bytes = counted_load_bytes  # type: ignore[method-assign]

    def restore() -> None:
        MetadataProvider.get_object = get_object  # type: ignore[method-assign]
        LocalStorage.load_bytes = load_bytes  # type: ignore[method-assign]

    return (lambda: Counter(counts)), restore


def timed(what: Callable[[], Any], repeat: int, calls: Callable[[], Counter[str]]) -> dict:
    """Best of `repeat`; calls are the first (cold) repetition's."""
    seconds, made = [], []
    for _ in range(repeat):
        before, started = calls(), time.perf_counter()
        result = what()
        seconds.append(time.perf_counter() - started)
        made.append(calls() - before)
    return {"result": result, "best_s": min(seconds), "first_s": seconds[0], "calls": made[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="datastore folder, kept")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--lanes", type=int, default=2, help="runs created in parallel")
    parser.add_argument("--repeat", type=int, default=3, help="timed collections; best kept")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="simulated service round trip per request"
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"creating runs in {work} (have {_existing_runs(work)})", flush=True)
    create_seconds = create_runs(work, args.runs, args.lanes)

    os.environ.setdefault("USER", "bench")  # the client needs a user name, even as root
    # A fresh artifact cache, so the first collection reads the datastore as a new process would.
    cache = work / "client-cache"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["METAFLOW_CLIENT_CACHE_PATH"] = str(cache)
    import metaflow

    from mlplatform.monitoring.collect_client import ClientCollector

    metaflow.metadata(f"local@{work}")
    calls, restore = counting_calls(args.latency_ms / 1000)
    since = datetime(2000, 1, 1, tzinfo=UTC)
    results: dict[str, dict[str, Any]] = {}
    try:
        for workers in (1, 4):
            collector = ClientCollector(workers=workers)
            results[f"collector, {workers} worker(s)"] = timed(
                lambda c=collector: c.collect(since, flows=[FLOW_NAME]), args.repeat, calls
            )
        results["baseline: Run.successful & co"] = timed(
            lambda: naive_collect(FLOW_NAME), args.repeat, calls
        )
    finally:
        restore()
    records = results["collector, 1 worker(s)"]["result"]
    runs = len(records)
    failed = sum(1 for n in range(runs) if n % FAIL_EVERY == FAIL_EVERY - 1)
    statuses = Counter(r.status for r in records)
    if statuses != Counter({"completed": runs - failed, "failed": failed}):
        raise SystemExit(f"wrong statuses: {dict(statuses)}; expected {failed} failed of {runs}")
    if any(r.exception_type != "ValueError" for r in records if r.status == "failed"):
        raise SystemExit("a failed run lacks its exception type")
    tasks = sum(len(r.tasks) for r in records)
    summary = {
        "runs": runs,
        "task_attempts": tasks,
        "statuses": dict(statuses),
        "create_seconds": round(create_seconds, 1),
        "simulated_latency_ms": args.latency_ms,
        "measurements": {
            name: {
                "best_seconds": round(m["best_s"], 3),
                "first_seconds": round(m["first_s"], 3),
                "per_run_ms": round(1000 * m["best_s"] / runs, 2),
                "metadata_requests_per_run": round(m["calls"]["metadata_requests"] / runs, 2),
                "datastore_reads_per_run": round(m["calls"]["datastore_reads"] / runs, 2),
            }
            for name, m in results.items()
        },
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
