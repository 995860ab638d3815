"""Reading the registry: model versions with their lineage, the champion, comparisons.

A model version is a training run tagged `registered` and `pipeline:<id>`; its lineage is the
run's own artifacts (`lineage`, `metrics`, `summary`, `model`), its state and history are the
run's tags (see `events.py`). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlplatform.errors import NotFoundError
from mlplatform.registry import store
from mlplatform.registry.events import (
    GATE_FAILED,
    REGISTERED,
    Event,
    Record,
    current_champion,
    pipeline_of,
)

CHAMPION_SUFFIX = "@champion"


@dataclass
class ModelVersion:
    """One registered model: where it came from (lineage) and what happened to it (events)."""

    pathspec: str
    pipeline_id: str | None
    created_at: datetime | None  # when it was registered (UTC)
    user: str | None  # who ran the training
    is_champion: bool
    registered: bool
    gate_passed: bool | None
    metrics: dict[str, float]
    params: dict[str, Any]
    data_fingerprint: str | None
    rows: dict[str, Any]
    code_version: dict[str, str]
    events: list[Event]
    gate: str | None = None
    estimator: str | None = None
    model_path: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def _artifact(data: Any, name: str) -> Any:
    return getattr(data, name) if data is not None and name in data else None


def _registered_at(run: Any) -> datetime:
    """When the run was registered. Runs registered before events existed fall back to the
    run's own time (which local metadata moves on every tag change: the best there is)."""
    registered = store.record(run).registered_at
    # Metaflow's times are naive local times; events are UTC.
    return registered or run.created_at.astimezone(UTC)


def _version(run: Any, is_champion: bool) -> ModelVersion:
    """A run's lineage from its artifacts, its state and history from its tags."""
    rec = store.record(run)
    tags = rec.tags
    data = store.artifacts(run)
    lineage: dict[str, Any] = _artifact(data, "lineage") or {}
    summary: dict[str, Any] = _artifact(data, "summary") or {}
    run_user = next((t.split(":", 1)[1] for t in run.system_tags if t.startswith("user:")), None)
    return ModelVersion(
        pathspec=run.pathspec,
        pipeline_id=pipeline_of(tags) or lineage.get("pipeline_id"),
        created_at=_registered_at(run),
        user=lineage.get("user") or run_user,
        is_champion=is_champion,
        registered=REGISTERED in tags,
        gate_passed=False if GATE_FAILED in tags else lineage.get("gate_passed"),
        metrics=_artifact(data, "metrics") or lineage.get("metrics") or {},
        params=lineage.get("params") or {},
        data_fingerprint=lineage.get("data_fingerprint"),
        rows=lineage.get("rows") or {},
        code_version=lineage.get("code_version") or {},
        events=rec.events,
        gate=lineage.get("gate"),
        estimator=lineage.get("estimator"),
        model_path=summary.get("model_path"),
        spec=lineage.get("spec") or {},
        tags=sorted(run.user_tags),
    )


def list_models(
    pipeline_id: str | None = None, flows: Iterable[str] | None = None, limit: int = 50
) -> list[ModelVersion]:
    """Registered models, newest first (all pipelines when `pipeline_id` is None)."""
    runs = store.registered_runs(pipeline_id, flows)
    by_pipeline: dict[str | None, list[Record]] = {}
    for run in runs:
        rec = store.record(run)
        by_pipeline.setdefault(pipeline_of(rec.tags), []).append(rec)
    champions = {
        champ.pathspec
        for pipeline, records in by_pipeline.items()
        if pipeline is not None and (champ := current_champion(records)) is not None
    }
    newest = sorted(runs, key=_registered_at, reverse=True)[:limit]
    return [_version(run, run.pathspec in champions) for run in newest]


def champion_run(pipeline_id: str, flows: Iterable[str] | None = None) -> Any:
    """The champion's Metaflow run, or None when the pipeline has none."""
    runs = store.registered_runs(pipeline_id, flows)
    champ = current_champion(store.record(run) for run in runs)
    return next((r for r in runs if champ and r.pathspec == champ.pathspec), None)


def champion(pipeline_id: str, flows: Iterable[str] | None = None) -> ModelVersion | None:
    """The pipeline's champion (what batch scoring should load), or None."""
    run = champion_run(pipeline_id, flows)
    return None if run is None else _version(run, is_champion=True)


def resolve(ref: str, flows: Iterable[str] | None = None) -> Any:
    """The run a ref names, registered or not: `Flow/run_id`, a run id, `<pipeline>@champion`."""
    if ref.endswith(CHAMPION_SUFFIX):
        pipeline_id = ref[: -len(CHAMPION_SUFFIX)]
        run = champion_run(pipeline_id, flows) if pipeline_id else None
        if run is None:
            raise NotFoundError(
                f"pipeline '{pipeline_id}' has no champion",
                "list models with `mlplatform models list`; promote one with "
                "`mlplatform models promote REF`",
            )
        return run
    return store.find_run(ref, flows)


def is_champion(run: Any, flows: Iterable[str] | None = None) -> bool:
    pipeline_id = pipeline_of(run.tags)
    if not store.record(run).champion_tagged or pipeline_id is None:
        return False  # only a `champion`-tagged run can be; skip listing the pipeline
    champ = champion_run(pipeline_id, flows)
    return champ is not None and champ.pathspec == run.pathspec


def get_model(ref: str, flows: Iterable[str] | None = None) -> ModelVersion:
    """One registered model by `Flow/run_id`, bare run id or `<pipeline_id>@champion`."""
    run = resolve(ref, flows)
    if REGISTERED not in run.tags:
        raise NotFoundError(
            f"run '{run.pathspec}' is not a registered model (it never finished `register`)",
            "list models with `mlplatform models list`",
        )
    return _version(run, is_champion(run, [*store.flow_names(flows), run.pathspec.split("/")[0]]))


def load_model(version: ModelVersion | str, flows: Iterable[str] | None = None) -> Any:
    """The fitted model of a version (or a ref), read from the run's `model` artifact: the same
    call works on the local and the S3 datastore."""
    ref = version.pathspec if isinstance(version, ModelVersion) else version
    run = resolve(ref, flows)
    model = _artifact(store.artifacts(run), "model")
    if model is None:
        raise NotFoundError(
            f"run '{run.pathspec}' has no `model` artifact",
            "only runs that finished `train` have a model; list models with "
            "`mlplatform models list`",
        )
    return model
