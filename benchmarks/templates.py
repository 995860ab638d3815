"""Benchmark: the regression, NLP and scoring templates vs equivalent plain scripts.

Each pair does the same work on the same data in the same run: the template through
`mlplatform run` (local Metaflow, `--max-workers` = cores), the alternative as one plain pandas
+ scikit-learn script (`baseline_plain.py regression`, `baseline_nlp.py`,
`baseline_scoring.py`). Tuning uses the same fixed candidate list on both sides (random or
grid search, so the candidates are known before the run). The scoring pair scores the model
the regression template just trained. Data generation is not timed.

    python benchmarks/templates.py [--rows 1000000] [--only regression scoring nlp]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from baseline_plain import CAT, NUM  # noqa: E402
from harness import Measurement, measure  # noqa: E402
from mlplatform.data.appsflyer.synthetic import generate  # noqa: E402
from mlplatform.data.text_synthetic import write_texts  # noqa: E402
from mlplatform.pipelines.launcher import metaflow_user  # noqa: E402
from mlplatform.pipelines.spec import PipelineSpec  # noqa: E402
from mlplatform.pipelines.steps.search import candidates  # noqa: E402

EXAMPLES = REPO / "examples" / "pipelines"


def _example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


def _lines(stdout: str) -> dict[str, str]:
    return dict(ln.split(": ", 1) for ln in stdout.splitlines() if ": " in ln and ln[0] != "│")


def _check(*runs: Measurement) -> None:
    for run in runs:
        if run.returncode != 0:
            raise SystemExit(f"{run.name} failed:\n{run.stdout[-3000:]}")


class Bench:
    def __init__(self, rows: int, work: Path) -> None:
        self.rows = rows
        self.work = work
        self.run_dir = work / f"runs-{rows}"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.env = {"MLPLATFORM_HOME": str(work / "home"), "METAFLOW_USER": metaflow_user()}
        self.regression_model: str | None = None

    def raw(self) -> Path:
        raw = self.work / f"raw-{self.rows}"
        if not raw.exists():
            print(f"generating {self.rows:,} installs (not timed)", flush=True)
            generate(raw, installs=self.rows, seed=11)
        return raw

    def template(self, name: str, spec: dict[str, Any]) -> Measurement:
        path = self.work / f"{name}-{self.rows}.yaml"
        path.write_text(yaml.safe_dump(spec))
        print(f"{name}: template", flush=True)
        command = [sys.executable, "-m", "mlplatform.cli.main", "run", str(path)]
        return measure(f"{name} template", command, str(self.run_dir), self.env)

    def plain(self, name: str, script: str, *args: str) -> Measurement:
        print(f"{name}: plain script", flush=True)
        command = [sys.executable, str(HERE / script), *args]
        return measure(f"{name} plain", command, str(self.run_dir))

    def _candidates(self, spec: dict[str, Any]) -> str:
        path = self.work / f"candidates-{spec['name']}.json"
        path.write_text(json.dumps(candidates(PipelineSpec.model_validate(spec))))
        return str(path)

    def regression(self) -> dict[str, Any]:
        raw = self.raw()
        spec = _example("appsflyer_d30_revenue.yaml")
        spec["data"]["source"] = {
            "kind": "appsflyer",
            "installs": [f"{raw}/*/*installs_report/dt=*/*.csv"],
            "in_app_events": [f"{raw}/*/*in_app_events_report/dt=*/*.csv"],
        }
        spec["features"] = {"numeric": NUM, "categorical": CAT}  # what the plain script builds
        spec["tuning"].update(strategy="random", n_candidates=4, cv_folds=3)
        spec["evaluation"]["gate"] = None  # champion on registration: the scoring pair uses it
        cands = self._candidates(spec)
        max_rows = str(spec["tuning"].get("max_rows", 200_000))
        plain = self.plain(
            "regression", "baseline_plain.py", str(raw), cands, max_rows, "regression"
        )
        template = self.template("regression", spec)
        _check(plain, template)
        lines = _lines(template.stdout)
        self.regression_model = lines["model_path"]
        quality = {
            "plain_r2": round(json.loads(plain.stdout.strip().splitlines()[-1])["r2"], 4),
            "template_r2": round(float(lines["r2"]), 4),
        }
        return _result("regression", self.rows, plain, template, quality)

    def scoring(self) -> dict[str, Any]:
        if self.regression_model is None:
            self.regression()
        assert self.regression_model is not None
        raw = self.raw()
        spec = _example("score_d7_purchase.yaml")
        spec["data"]["source"] = {
            "kind": "appsflyer",
            "installs": [f"{raw}/*/*installs_report/dt=*/*.csv"],
            "in_app_events": [f"{raw}/*/*in_app_events_report/dt=*/*.csv"],
        }
        spec["scoring"] = {
            "model": "marketing.d30_revenue@champion",
            "keep_columns": ["appsflyer_id"],
        }
        out = self.work / f"plain-predictions-{self.rows}.parquet"
        plain = self.plain(
            "scoring", "baseline_scoring.py", str(raw), self.regression_model, str(out)
        )
        template = self.template("scoring", spec)
        _check(plain, template)
        quality = {
            "plain_rows": json.loads(plain.stdout.strip().splitlines()[-1])["rows_scored"],
            "template_rows": int(_lines(template.stdout)["rows_scored"]),
        }
        return _result("scoring", self.rows, plain, template, quality)

    def nlp(self) -> dict[str, Any]:
        texts = self.work / f"texts-{self.rows}.csv"
        if not texts.exists():
            print(f"generating {self.rows:,} texts (not timed)", flush=True)
            write_texts(texts, rows=self.rows, seed=11)
        spec = _example("support_messages.yaml")
        spec["data"]["source"] = {"kind": "table", "path": str(texts)}
        spec["tuning"].update(n_candidates=2, cv_folds=3, space={"C": [1.0, 10.0]})
        cands = self._candidates(spec)
        max_rows = str(spec["tuning"].get("max_rows", 200_000))
        plain = self.plain("nlp", "baseline_nlp.py", str(texts), cands, max_rows)
        template = self.template("nlp", spec)
        _check(plain, template)
        quality = {
            "plain_f1_macro": round(
                json.loads(plain.stdout.strip().splitlines()[-1])["f1_macro"], 4
            ),
            "template_f1_macro": round(float(_lines(template.stdout)["f1_macro"]), 4),
        }
        return _result("nlp", self.rows, plain, template, quality)


def _result(
    name: str, rows: int, plain: Measurement, template: Measurement, quality: dict[str, Any]
) -> dict[str, Any]:
    result = {
        "template": name,
        "rows": rows,
        "plain_seconds": round(plain.seconds, 1),
        "template_seconds": round(template.seconds, 1),
        "time_ratio": round(template.seconds / plain.seconds, 2),
        "plain_peak_mb": round(plain.peak_mb),
        "template_peak_mb": round(template.peak_mb),
        "memory_ratio": round(template.peak_mb / plain.peak_mb, 2),
        **quality,
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="+", default=["regression", "scoring", "nlp"])
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlplatform-templates-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.rows, work)
    results = [getattr(bench, name)() for name in args.only]
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"templates_{args.rows}.json").write_text(json.dumps(results, indent=2))
    print("| template | rows | plain s | template s | ratio | plain MB | template MB | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['template']} | {r['rows']:,} | {r['plain_seconds']} | {r['template_seconds']} "
            f"| {r['time_ratio']}x | {r['plain_peak_mb']} | {r['template_peak_mb']} "
            f"| {r['memory_ratio']}x |"
        )


if __name__ == "__main__":
    main()
