"""Reading runs back through the Metaflow client: list, show, export the card.

Works against whichever metadata the Metaflow profile names (local folder or the service).
Lists go through `Flow.runs()` of the template flows only, never `Metaflow().flows`, which
costs one request per flow (Netflix/metaflow#2942).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlplatform.errors import NotFoundError
from mlplatform.pipelines.flows import TEMPLATES
from mlplatform.pipelines.outputs import write_output


@dataclass
class RunInfo:
    pathspec: str
    pipeline_id: str | None
    status: str  # running | completed | failed
    user: str | None
    created_at: datetime | None
    finished_at: datetime | None
    tags: list[str]
    summary: dict[str, Any] | None


def _client() -> Any:
    import metaflow

    metaflow.namespace(None)  # every user's runs: the platform view, not just mine
    return metaflow


def _status(run: Any) -> str:
    if run.successful:
        return "completed"
    if run.finished:
        return "failed"
    # A run that failed before `end` never reads as finished (Netflix/metaflow#1104): like the
    # Metaflow UI backend, read each task's `attempt_ok` metadata instead.
    return "failed" if _failed_task(run) is not None else "running"


def _failed_task(run: Any) -> Any:
    for step in run:
        for task in step:
            if task.metadata_dict.get("attempt_ok") == "False":
                return task
    return None


def _started_at(run: Any) -> datetime | None:
    """When the `start` task began. The run's own timestamp moves when its tags change under
    local metadata (the registration tags are added at the end), so it is not the start."""
    try:
        return run["start"].task.created_at
    except Exception:  # a run still starting has no start task yet
        return run.created_at


def _info(run: Any, with_summary: bool) -> RunInfo:
    tags = sorted(run.tags)
    pipeline = next((t.split(":", 1)[1] for t in tags if t.startswith("pipeline:")), None)
    user = next((t.split(":", 1)[1] for t in tags if t.startswith("user:")), None)
    status = _status(run)
    summary = None
    if with_summary and status == "completed" and "summary" in run.data:
        summary = run.data.summary
    return RunInfo(
        pathspec=run.pathspec,
        pipeline_id=pipeline,
        status=status,
        user=user,
        created_at=_started_at(run),
        finished_at=run.finished_at if status != "running" else None,
        tags=tags,
        summary=summary,
    )


def list_runs(pipeline_id: str | None = None, limit: int = 20) -> list[RunInfo]:
    mf = _client()
    found: list[Any] = []
    for flow_name, _ in TEMPLATES.values():
        try:
            flow = mf.Flow(flow_name)
        except mf.exception.MetaflowNotFound:
            continue
        tags = [f"pipeline:{pipeline_id}"] if pipeline_id else []
        found.extend(flow.runs(*tags))
    found.sort(key=lambda r: r.created_at, reverse=True)
    return [_info(run, with_summary=False) for run in found[:limit]]


def resolve_run(run_ref: str) -> Any:
    """`Flow/run_id` or a bare run id (searched in the template flows)."""
    mf = _client()
    refs = [run_ref] if "/" in run_ref else [f"{f}/{run_ref}" for f, _ in TEMPLATES.values()]
    for ref in refs:
        try:
            return mf.Run(ref)
        except mf.exception.MetaflowNotFound:
            continue
    raise NotFoundError(f"run '{run_ref}' not found", "list runs with `mlplatform runs list`")


def show_run(run_ref: str) -> RunInfo:
    return _info(resolve_run(run_ref), with_summary=True)


def failing_step(run_ref: str) -> tuple[str, str] | None:
    """(step, exception text) of the first failed task, if any."""
    task = _failed_task(resolve_run(run_ref))
    if task is None:
        return None
    lines = [ln for ln in str(task.exception or "").splitlines() if ln.strip()]
    return task.parent.id, lines[-1] if lines else "unknown error"


CARD_STEPS = {"ScoringFlow": "predict"}  # training templates draw theirs in `evaluate`


def export_card(run_ref: str, step: str | None = None) -> str | None:
    """Write the step's card HTML beside the run's outputs; None when there is no card."""
    from metaflow.cards import get_cards

    run = resolve_run(run_ref)
    step = step or CARD_STEPS.get(run.parent.id, "evaluate")
    try:
        cards = get_cards(run[step].task)
    except Exception:  # a run that failed before the step has no card
        return None
    if not len(cards):
        return None
    summary = run.data.summary if "summary" in run.data else {}
    base = summary.get("outputs")
    if not base:
        return None
    return write_output(base, f"{step}_card.html", cards[0].get().encode("utf-8"))
