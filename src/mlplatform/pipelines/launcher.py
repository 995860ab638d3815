"""Launch a template flow for a spec: check first, run Metaflow, report progress and failures.

Everything that can be checked before a run is: the spec (with `--param` overrides applied),
the data source (files exist, are readable, headers complete). Only then does Metaflow start,
as `python <flow file> --config pipeline <resolved spec> run ...`, exactly the command a user
could type. Its output goes to a log file; progress comes from the task lines it prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlplatform.errors import PlatformError, RunFailedError
from mlplatform.pipelines.flows import TEMPLATES
from mlplatform.pipelines.spec import AnySpec, PipelineSpec, ScoringSpec, load_spec
from mlplatform.settings import home

Target = Literal["local", "batch", "kubernetes"]
# Tasks outside the tuning rounds: start ingest validate split learn round_two select train
# evaluate register end (training), start ingest validate predict end (scoring).
FIXED_TASKS = {"training": 11, "scoring": 5}

_TASK_LINE = re.compile(
    r"\[(?P<run>[^/\]]+)/(?P<step>\w+)/(?P<task>\d+) \(pid \d+\)\] (?P<msg>.*)$"
)
_RUN_START = re.compile(r"Workflow starting \(run-id (?P<run>[^)]+)\)")
_EXCEPTION = re.compile(
    r"^(?:[\w.]+\.)?(?P<type>\w*(?:Error|Exception|Interrupt)\w*): (?P<msg>.+)$"
)


@dataclass
class Progress:
    """What a progress display needs; updated as Metaflow prints task lines."""

    total: int
    done: int = 0
    running: set[str] = field(default_factory=set)
    run_id: str | None = None


@dataclass
class LaunchResult:
    pathspec: str
    log_path: Path
    spec: AnySpec
    seconds: float


def metaflow_user() -> str:
    """Metaflow refuses to run without a user name and never takes it from root."""
    user = os.environ.get("METAFLOW_USER") or os.environ.get("USER") or ""
    return user if user and user != "root" else "mlplatform"


def flow_for(spec: AnySpec) -> tuple[str, Path]:
    return TEMPLATES[spec.task]


def total_tasks(spec: AnySpec) -> int:
    if isinstance(spec, ScoringSpec):
        return FIXED_TASKS["scoring"]
    from mlplatform.pipelines.steps.search import tuning_tasks

    return FIXED_TASKS["training"] + tuning_tasks(spec)


def training_needed(spec: AnySpec) -> PipelineSpec | None:
    """The training spec to run before a scoring spec whose pipeline has no champion yet.

    None when nothing needs training. A scoring spec that names a champion that does not
    exist and no `train_spec` fails here, before anything starts.
    """
    if not isinstance(spec, ScoringSpec) or not spec.scoring.model.endswith("@champion"):
        return None
    from mlplatform.registry import champion

    pipeline_id = spec.scoring.model.removesuffix("@champion")
    if champion(pipeline_id) is not None:
        return None
    if not spec.scoring.train_spec:
        raise PlatformError(
            f"pipeline '{pipeline_id}' has no champion model to score with",
            "train one first (mlplatform run <training spec>) or set scoring.train_spec",
        )
    training = prepare(spec.scoring.train_spec, [])
    if not isinstance(training, PipelineSpec) or training.pipeline_id != pipeline_id:
        raise PlatformError(
            f"scoring.train_spec {spec.scoring.train_spec} does not train '{pipeline_id}'",
            "point it at the training spec of the pipeline named in scoring.model",
        )
    return training


def prepare(spec_path: str, overrides: list[str]) -> AnySpec:
    """Validate spec + overrides and the data source; raises PlatformError before any run."""
    spec = load_spec(spec_path, overrides)
    from mlplatform.pipelines.steps.ingest import preflight  # pandas: only when checking

    preflight(spec)
    return spec


def check_target(on: Target) -> None:
    """Remote tasks need a remote datastore and a queue; say so before Metaflow starts."""
    if on == "local":
        return
    from metaflow import metaflow_config as mf

    if mf.DEFAULT_DATASTORE == "local":
        raise PlatformError(
            f"--on {on} needs the Metaflow datastore on S3, but the active Metaflow profile "
            "uses the local one",
            "set METAFLOW_DEFAULT_DATASTORE=s3 and METAFLOW_DATASTORE_SYSROOT_S3 (or import the "
            "Terraform profile); see docs/templates.md, 'The same spec on AWS Batch'",
        )
    if on == "batch" and not mf.BATCH_JOB_QUEUE:
        raise PlatformError(
            "--on batch needs an AWS Batch job queue", "set METAFLOW_BATCH_JOB_QUEUE"
        )


def metaflow_command(
    flow_file: Path,
    spec_file: Path,
    pipeline_id: str,
    on: Target,
    max_workers: int,
    run_id_file: Path,
) -> list[str]:
    command = [sys.executable, str(flow_file), "--config", "pipeline", str(spec_file), "run"]
    if on != "local":
        command += ["--with", on]
    command += ["--max-workers", str(max_workers), "--run-id-file", str(run_id_file)]
    command += ["--tag", f"pipeline:{pipeline_id}"]  # visible while the run is still going
    return command


def launch(
    spec: AnySpec,
    on: Target = "local",
    max_workers: int = 2,
    on_progress: Callable[[Progress], None] | None = None,
) -> LaunchResult:
    flow_name, flow_file = flow_for(spec)
    workdir = (
        home() / "launches" / f"{spec.pipeline_id}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    spec_file = workdir / "spec.yaml"
    # JSON is YAML: the resolved spec (overrides applied, defaults filled) is what the run sees.
    spec_file.write_text(json.dumps(spec.to_config(), indent=2), encoding="utf-8")
    log_path = workdir / "run.log"
    run_id_file = workdir / "run-id"
    env = dict(os.environ)
    env["MLPLATFORM_RUNS__MAX_WORKERS"] = str(max_workers)
    env["METAFLOW_USER"] = metaflow_user()
    progress = Progress(total=total_tasks(spec))
    started = time.perf_counter()
    command = metaflow_command(flow_file, spec_file, spec.pipeline_id, on, max_workers, run_id_file)
    with log_path.open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            bufsize=1,
        )
        assert process.stdout is not None
        try:
            for line in process.stdout:
                log.write(line)
                log.flush()  # so `tail -f` on the log follows the run
                _update(progress, line)
                if on_progress:
                    on_progress(progress)
            returncode = process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait(timeout=60)
            raise PlatformError(
                "run interrupted", f"partial output is in {log_path}; nothing was registered"
            ) from None
    if returncode != 0:
        raise failure_from_log(log_path)
    run_id = run_id_file.read_text().strip() if run_id_file.exists() else progress.run_id
    return LaunchResult(
        pathspec=f"{flow_name}/{run_id}",
        log_path=log_path,
        spec=spec,
        seconds=time.perf_counter() - started,
    )


def _update(progress: Progress, line: str) -> None:
    start = _RUN_START.search(line)
    if start:
        progress.run_id = start.group("run")
        return
    task = _TASK_LINE.search(line.rstrip("\n"))
    if not task:
        return
    key = f"{task.group('step')}/{task.group('task')}"
    message = task.group("msg")
    if message.startswith("Task is starting"):
        progress.running.add(key)
    elif message.startswith("Task finished successfully"):
        progress.running.discard(key)
        progress.done += 1


def failure_from_log(log_path: Path) -> RunFailedError:
    """One line naming the failing step and its error, from Metaflow's output."""
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    by_task: dict[str, list[str]] = {}
    failed: list[str] = []
    for line in lines:
        match = _TASK_LINE.search(line)
        if not match:
            continue
        key = f"{match.group('step')}/{match.group('task')}"
        by_task.setdefault(key, []).append(match.group("msg").strip())
        if match.group("msg").startswith("Task failed"):
            failed.append(key)
    hint = f"full log: {log_path}"
    if failed:
        key = failed[-1]
        step = key.split("/")[0]
        error = next(
            (
                m.group("type") + ": " + m.group("msg")
                for m in (_EXCEPTION.match(x) for x in reversed(by_task[key]))
                if m
            ),
            "see the log",
        )
        return RunFailedError(f"step '{step}' failed: {error}", hint)
    tail = next((x.strip() for x in reversed(lines) if x.strip() and not x.startswith("$ ")), "")
    return RunFailedError(f"the run did not start: {tail[:300]}", hint)
