"""Benchmark: the classification template vs a plain pandas + scikit-learn script.

Same generated AppsFlyer data, same candidate parameter sets, same CV, same holdout, same
machine, same run. Prints wall time, peak memory and the ratios; writes a JSON result file.

    python benchmarks/run.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from harness import measure  # noqa: E402
from mlplatform.data.appsflyer.synthetic import generate  # noqa: E402
from mlplatform.pipelines.spec import PipelineSpec  # noqa: E402
from mlplatform.pipelines.steps.search import candidates  # noqa: E402


def bench(installs: int, work: Path) -> dict:
    raw = work / f"raw-{installs}"
    if not raw.exists():
        print(f"generating {installs:,} installs (not timed)", flush=True)
        generate(raw, installs=installs, seed=11)
    spec = yaml.safe_load((REPO / "examples/pipelines/appsflyer_d7_purchase.yaml").read_text())
    spec["data"]["source"] = {
        "kind": "appsflyer",
        "installs": [f"{raw}/*/*installs_report/dt=*/*.csv"],
        "in_app_events": [f"{raw}/*/*in_app_events_report/dt=*/*.csv"],
    }
    spec_path = work / f"spec-{installs}.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    cands = candidates(PipelineSpec.model_validate(spec))
    cand_path = work / f"candidates-{installs}.json"
    cand_path.write_text(json.dumps([{k: v for k, v in c.items()} for c in cands]))
    max_rows = str(spec["tuning"].get("max_rows", 200_000))
    run_dir = work / f"runs-{installs}"
    run_dir.mkdir(exist_ok=True)
    print(f"{installs:,} installs: plain script", flush=True)
    plain = measure(
        "plain",
        [sys.executable, str(HERE / "baseline_plain.py"), str(raw), str(cand_path), max_rows],
        cwd=str(run_dir),
    )
    print(f"{installs:,} installs: template", flush=True)
    template = measure(
        "template",
        [sys.executable, "-m", "mlplatform.cli.main", "run", str(spec_path)],
        cwd=str(run_dir),
        env={"MLPLATFORM_HOME": str(work / "home")},
    )
    for m in (plain, template):
        if m.returncode != 0:
            raise SystemExit(f"{m.name} failed:\n{m.stdout[-3000:]}")
    plain_auc = json.loads(plain.stdout.strip().splitlines()[-1])["roc_auc"]
    template_auc = float(
        next(ln.split(": ")[1] for ln in template.stdout.splitlines() if ln.startswith("roc_auc: "))
    )
    result = {
        "installs": installs,
        "plain_seconds": round(plain.seconds, 1),
        "template_seconds": round(template.seconds, 1),
        "time_ratio": round(template.seconds / plain.seconds, 2),
        "plain_peak_mb": round(plain.peak_mb),
        "template_peak_mb": round(template.peak_mb),
        "memory_ratio": round(template.peak_mb / plain.peak_mb, 2),
        "plain_roc_auc": round(plain_auc, 4),
        "template_roc_auc": round(template_auc, 4),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlplatform-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = [bench(n, work) for n in args.sizes]
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "template_vs_plain.json").write_text(json.dumps(results, indent=2))
    print(
        "| installs | plain s | template s | ratio | plain MB | template MB | ratio"
        " | AUC plain / template |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['installs']:,} | {r['plain_seconds']} | {r['template_seconds']} | "
            f"{r['time_ratio']}x | {r['plain_peak_mb']} | {r['template_peak_mb']} | "
            f"{r['memory_ratio']}x | {r['plain_roc_auc']} / {r['template_roc_auc']} |"
        )


if __name__ == "__main__":
    main()
