"""The registry's one door to Metaflow: find registered runs, read their artifacts, write tags.

Every object is opened with `_namespace_check=False` rather than by switching the global
namespace: register_run runs inside a flow's step, where the namespace belongs to the flow.
Lists go through `Flow(name).runs(...)` of the training templates only, never
`Metaflow().flows`, which costs one request per flow (Netflix/metaflow#2942).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlplatform.errors import NotFoundError
from mlplatform.registry.events import (
    PIPELINE_PREFIX,
    REGISTERED,
    Record,
    events_to_drop,
    parse_event,
)


def _metaflow() -> Any:
    import metaflow  # here: `mlplatform --help` should not pay for importing Metaflow

    return metaflow


def default_flows() -> list[str]:
    """The training templates' flows; scoring flows produce no models."""
    from mlplatform.pipelines.flows import TEMPLATES

    return [flow for task, (flow, _) in TEMPLATES.items() if task != "scoring"]


def flow_names(flows: Iterable[str] | None) -> list[str]:
    return list(dict.fromkeys(default_flows() if flows is None else flows))


def registered_runs(pipeline_id: str | None, flows: Iterable[str] | None) -> list[Any]:
    """Every registered run of the pipeline (of every pipeline when None), unordered."""
    mf = _metaflow()
    tags = [REGISTERED] + ([] if pipeline_id is None else [f"{PIPELINE_PREFIX}{pipeline_id}"])
    found: list[Any] = []
    for name in flow_names(flows):
        try:
            flow = mf.Flow(name, _namespace_check=False)
        except mf.exception.MetaflowNotFound:
            continue  # a template nobody has run yet
        found.extend(flow.runs(*tags))
    return found


def open_run(pathspec: str) -> Any:
    mf = _metaflow()
    try:
        return mf.Run(pathspec, _namespace_check=False)
    except mf.exception.MetaflowNotFound:
        return None


def find_run(ref: str, flows: Iterable[str] | None) -> Any:
    """`Flow/run_id`, or a bare run id searched in the flows."""
    parts = ref.split("/")
    if len(parts) <= 2 and all(parts):  # anything else is no run: Metaflow would raise
        refs = [ref] if len(parts) == 2 else [f"{name}/{ref}" for name in flow_names(flows)]
        for pathspec in refs:
            run = open_run(pathspec)
            if run is not None:
                return run
    raise NotFoundError(
        f"model '{ref}' not found", "list models with `mlplatform models list` (refs: Flow/run_id)"
    )


def record(run: Any) -> Record:
    return Record(run.pathspec, frozenset(run.tags))


def artifacts(run: Any) -> Any:
    """The run's artifacts as `end` sees them; `register`'s when `end` has not run (yet)."""
    data = run.data
    if data is not None:
        return data
    try:
        return run["register"].task.data
    except Exception:  # no register step or task: a run that never got that far
        return None


def artifact(run: Any, name: str, default: Any = None) -> Any:
    data = artifacts(run)
    if data is None or name not in data:
        return default
    return getattr(data, name)


def write_tags(run: Any, add: Iterable[str], remove: Iterable[str] = ()) -> None:
    """One atomic tag change on one run, pruning its oldest events to stay under Metaflow's
    limit of 50 user tags per run."""
    add, remove = list(add), list(remove)
    existing = {event: tag for tag in run.user_tags if (event := parse_event(tag)) is not None}
    new_events = sum(1 for tag in add if parse_event(tag) is not None and tag not in run.tags)
    remove += [existing[event] for event in events_to_drop(existing, new_events)]
    if add or remove:
        run.replace_tags(remove, add)
