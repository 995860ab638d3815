"""Benchmark: tuning 8 candidates with `--max-workers 2` vs 1, and vs scikit-learn's own
parallel search on the same candidates.

The classification template runs the example spec on generated AppsFlyer data with 8 random
candidates (two rounds of 4) and 3-fold CV. The tuning phase is read from Metaflow's task
timestamps: from the end of `split` to the start of `select`. The alternative is what a data
scientist would write without a platform: `GridSearchCV(n_jobs=2)` over the same 8 parameter
sets on the same tuning sample, in one process.

    python benchmarks/tuning.py [--installs 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from harness import measure  # noqa: E402
from mlplatform.pipelines.launcher import metaflow_user  # noqa: E402

CANDIDATES = 8
PHASE = """
import json, sys
from metaflow import Run, namespace
namespace(None)
run = Run(sys.argv[1])
split_done = run["split"].task.finished_at
select_started = run["select"].task.created_at
scores = run["select"].task.data.scores
print(json.dumps({"tuning_seconds": (select_started - split_done).total_seconds(),
                  "candidates": len(scores),
                  "best": max(s.score for s in scores)}))
"""


def template_run(spec_path: Path, workers: int, work: Path) -> dict:
    run_dir = work / f"workers-{workers}"
    run_dir.mkdir(exist_ok=True)
    env = {"MLPLATFORM_HOME": str(work / "home"), "METAFLOW_USER": metaflow_user()}
    command = [sys.executable, "-m", "mlplatform.cli.main", "run", str(spec_path),
               "--max-workers", str(workers)]  # fmt: skip
    print(f"template, --max-workers {workers}", flush=True)
    result = measure(f"workers-{workers}", command, cwd=str(run_dir), env=env)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:])
    pathspec = next(
        ln.split(": ")[1] for ln in result.stdout.splitlines() if ln.startswith("run: ")
    )
    phase = subprocess.run(
        [sys.executable, "-c", PHASE, pathspec],
        cwd=run_dir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return {"run_seconds": round(result.seconds, 1), **json.loads(phase.stdout)}


def sklearn_search(spec_path: Path, work: Path) -> dict:
    """GridSearchCV(n_jobs=2) over the template's own candidates, on the same tuning sample."""
    script = work / "sklearn_search.py"
    script.write_text(SKLEARN_SEARCH)
    env = {"MLPLATFORM_HOME": str(work / "home")}
    print("GridSearchCV(n_jobs=2) on the same candidates", flush=True)
    result = measure("sklearn", [sys.executable, str(script), str(spec_path)], str(work), env)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


# Times only the search: the data preparation before it is the platform's own code, shared.
SKLEARN_SEARCH = """
import json, sys, time
from sklearn.model_selection import GridSearchCV
from mlplatform.pipelines.spec import load_spec
from mlplatform.pipelines.steps.ingest import ingest
from mlplatform.pipelines.steps.modeling import build_pipeline, cv_splitter
from mlplatform.pipelines.steps.search import candidates
from mlplatform.pipelines.steps.splitting import split, tuning_sample
from mlplatform.pipelines.steps.validate import validate

spec = load_spec(sys.argv[1])
table = validate(spec, ingest(spec)).table
sample = tuning_sample(spec, split(spec, table))
grid = [{f"model__{k}": [v] for k, v in params.items()} for params in candidates(spec)]
search = GridSearchCV(build_pipeline(spec, {}), grid, scoring="roc_auc",
                      cv=cv_splitter(spec, spec.tuning.cv_folds), n_jobs=2, refit=False)
started = time.perf_counter()
search.fit(sample.X, sample.y)
print(json.dumps({"tuning_seconds": time.perf_counter() - started,
                  "candidates": len(search.cv_results_["params"]),
                  "best": float(search.cv_results_["mean_test_score"].max())}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--installs", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlplatform-tuning-"))
    work.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((REPO / "examples/pipelines/appsflyer_d7_purchase.yaml").read_text())
    spec["data"]["source"]["installs"] = args.installs
    spec["tuning"].update(strategy="random", n_candidates=CANDIDATES, cv_folds=3)
    spec_path = work / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    one = template_run(spec_path, 1, work)
    two = template_run(spec_path, 2, work)
    sk = sklearn_search(spec_path, work)
    result = {
        "installs": args.installs,
        "candidates": CANDIDATES,
        "workers_1": one,
        "workers_2": two,
        "sklearn_n_jobs_2": sk,
        "tuning_speedup": round(one["tuning_seconds"] / two["tuning_seconds"], 2),
        "run_speedup": round(one["run_seconds"] / two["run_seconds"], 2),
        "template_2_vs_sklearn_2": round(two["tuning_seconds"] / sk["tuning_seconds"], 2),
    }
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "tuning_workers.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print("| | tuning phase s | whole run s |")
    print("|---|---|---|")
    print(f"| template, --max-workers 1 | {one['tuning_seconds']:.1f} | {one['run_seconds']} |")
    print(f"| template, --max-workers 2 | {two['tuning_seconds']:.1f} | {two['run_seconds']} |")
    print(f"| GridSearchCV(n_jobs=2) | {sk['tuning_seconds']:.1f} | - |")
    print(
        f"speedup 2 vs 1 workers: tuning {result['tuning_speedup']}x, run {result['run_speedup']}x"
    )


if __name__ == "__main__":
    main()
