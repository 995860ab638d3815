"""`mlplatform init`: a new pipeline project that runs as soon as it is written.

A project is the template's example spec (renamed to the new project), a README saying how to
run and adapt it, and a data hook (`prepare_data.py`) showing where a team's own data comes
in. The example specs live in `scaffold/specs/` so an installed wheel carries them; the
repository's `examples/pipelines/` links to the same files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlplatform.errors import PlatformError
from mlplatform.pipelines.spec import NAME_PATTERN

SPECS_DIR = Path(__file__).parent / "specs"
EXAMPLES = {
    "classification": "appsflyer_d7_purchase.yaml",
    "regression": "appsflyer_d30_revenue.yaml",
    "nlp": "support_messages.yaml",
    "scoring": "score_d7_purchase.yaml",
}
# The scoring project trains its own model first: this example is its training spec.
SCORING_TRAINER = "classification"
# The pipeline the scoring example scores with; a new project scores with its own trainer.
EXAMPLE_TRAINER_ID = "marketing.d7_purchase"


@dataclass
class Scaffold:
    directory: Path
    files: list[Path]
    project: str
    name: str


def pipeline_name(text: str) -> str:
    """A directory name made into a valid pipeline name: `Churn-Model 2` -> `churn_model_2`."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    if name and not name[0].isalpha():
        name = f"p_{name}"
    return name[:40]


def init_project(directory: Path, template: str, project: str | None, name: str | None) -> Scaffold:
    if template not in EXAMPLES:
        raise PlatformError(f"unknown template '{template}'", f"use one of: {', '.join(EXAMPLES)}")
    if directory.exists() and any(directory.iterdir()):
        raise PlatformError(
            f"{directory} already exists and is not empty",
            "choose a new directory; init never overwrites files",
        )
    name = name or pipeline_name(directory.resolve().name)
    project = project or "team"
    for value, what in ((project, "--project"), (name, "--name")):
        if not re.match(NAME_PATTERN, value):
            raise PlatformError(
                f"{what} '{value}' is not a valid pipeline name",
                "use lowercase letters, digits and _, starting with a letter (max 40)",
            )
    files: dict[str, str] = {}
    if template == "scoring":
        trainer = f"{name[:34]}_model"
        files["train.yaml"] = _renamed(EXAMPLES[SCORING_TRAINER], project, trainer)
        spec = _renamed(EXAMPLES["scoring"], project, name)
        spec = re.sub(r"(?m)^(\s*model:\s*).*$", rf"\g<1>{project}.{trainer}@champion", spec)
        spec = spec.replace(f"champion of {EXAMPLE_TRAINER_ID}", f"champion of {project}.{trainer}")
        spec = re.sub(r"(?m)^(\s*train_spec:\s*).*$", r"\g<1>train.yaml", spec)
        files["pipeline.yaml"] = spec
    else:
        files["pipeline.yaml"] = _renamed(EXAMPLES[template], project, name)
    files["prepare_data.py"] = DATA_HOOK
    files["README.md"] = README.format(
        project=project,
        name=name,
        template=template,
        directory=directory.name,
        # A scoring spec has no tuning section to change.
        change="data.source.installs=2000" if template == "scoring" else "tuning.n_candidates=2",
    )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in files.items():
        path = directory / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return Scaffold(directory, written, project, name)


def _renamed(example: str, project: str, name: str) -> str:
    """The example spec with its project and name replaced; comments and layout kept."""
    text = (SPECS_DIR / example).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^project:.*$", f"project: {project}", text, count=1)
    return re.sub(r"(?m)^name:.*$", f"name: {name}", text, count=1)


DATA_HOOK = '''"""Data hook: build the table this pipeline reads, as a file the spec can point at.

Replace `build_table` with your own query (a warehouse, S3, an API). Then run

    python prepare_data.py

and point the spec at the file it writes:

    data:
      source: {kind: table, path: data/table.parquet}

The rows still go through the spec's schema checks: bad rows are quarantined and counted.
"""

from pathlib import Path

import pandas as pd

from mlplatform.pipelines.spec import load_spec
from mlplatform.pipelines.steps.ingest import ingest

HERE = Path(__file__).parent


def build_table() -> pd.DataFrame:
    """Example: the rows the spec's current source gives (the seeded generator)."""
    return ingest(load_spec(HERE / "pipeline.yaml")).table


if __name__ == "__main__":
    target = HERE / "data" / "table.parquet"
    target.parent.mkdir(exist_ok=True)
    table = build_table()
    table.to_parquet(target, index=False)
    print(f"wrote {len(table):,} rows to {target}")
'''

README = """# {project}.{name}

A `{template}` pipeline made with `mlplatform init`. It runs as it is, on generated data:

```bash
cd {directory}
mlplatform run pipeline.yaml                 # locally
mlplatform run pipeline.yaml --on batch      # the same spec on AWS Batch
mlplatform runs list --pipeline {project}.{name}
mlplatform models list --pipeline {project}.{name}
```

- `pipeline.yaml`: the spec. Every key is described in the spec reference
  (`mlplatform spec reference`); `mlplatform spec check pipeline.yaml` validates it without
  running anything.
- `prepare_data.py`: where your data comes in. Replace `build_table`, run it, and set
  `data.source` to `{{kind: table, path: data/table.parquet}}`.
- Try a change without editing the file: `mlplatform run pipeline.yaml -p {change}`.
"""
