"""Writing the registry: register a run, promote a model, roll the champion back.

Every change of champion is two tag writes in this order: tag the new champion (with a dated
promotion event), then untag the old (with a demotion event). A crash in between leaves two
`champion` tags and the newest promotion event still names the right one; every write here
ends by untagging whatever `champion` tag is stale, so the next action repairs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from mlplatform.errors import NotFoundError
from mlplatform.registry import store, versions
from mlplatform.registry.events import (
    CHAMPION,
    GATE_FAILED,
    PIPELINE_PREFIX,
    REGISTERED,
    Event,
    Record,
    current_champion,
    next_time,
    pipeline_of,
    previous_champion,
)
from mlplatform.registry.policy import (
    Decision,
    PromotionPolicy,
    RegistryError,
    decide,
    metric_value,
)

_TICK = timedelta(microseconds=1)


def _pipeline_runs(pipeline_id: str, flows: Iterable[str] | None, own: str) -> list[Any]:
    """The pipeline's registered runs, searching the flow of the run at hand too."""
    return store.registered_runs(pipeline_id, [*store.flow_names(flows), own.split("/")[0]])


def _records(runs: Iterable[Any]) -> list[Record]:
    return [store.record(run) for run in runs]


def _path(record: Record | None) -> str | None:
    return None if record is None else record.pathspec


def _newest_time(runs: Iterable[Any]) -> datetime:
    return next_time(e for rec in _records(runs) for e in rec.events)


def _settle(
    runs: Iterable[Any],
    champion: str | None,
    replaced: str | None,
    at: datetime,
    user: str,
    action: str,
    detail: str,
) -> None:
    """Untag every `champion` but the champion's: the one it `replaced` gets (action, detail),
    stale tags left by an interrupted change get a repair event."""
    for run in runs:
        if run.pathspec == champion or CHAMPION not in run.tags:
            continue
        if run.pathspec == replaced:
            event = Event(at, action, user, detail)
        else:
            event = Event(
                at, "demoted", user, f"repair: stale champion tag; champion is {champion}"
            )
        store.write_tags(run, [event.tag()], [CHAMPION])


def _metric_of(run: Any, policy: PromotionPolicy) -> float | None:
    metrics = store.artifact(run, "metrics") or {}
    try:
        return metric_value(metrics, policy, run.pathspec)
    except RegistryError:
        return None


def register_run(
    pathspec: str,
    pipeline_id: str,
    metrics: dict[str, float],
    policy: PromotionPolicy,
    gate_passed: bool | None,
    user: str,
    flows: Iterable[str] | None = None,
) -> Decision:
    """Register the running run as a model version and decide champion/challenger.

    Called from the training flow's register step, before `end`: the run's own artifacts are
    not readable yet, so everything the decision needs is passed in. A run that fails before
    this call is never tagged, so it never touches the champion.
    """
    metric_value(metrics, policy, pathspec)  # a policy naming a missing metric fails the run
    run = store.open_run(pathspec)
    if run is None:
        raise NotFoundError(f"run '{pathspec}' not found", "register_run runs inside the flow")
    runs = [r for r in _pipeline_runs(pipeline_id, flows, pathspec) if r.pathspec != pathspec]
    own = store.record(run)
    if own.champion_tagged and current_champion([*_records(runs), own]) == own:
        # A retried register step: the first attempt already promoted this run.
        previous = previous_champion([*_records(runs), own])
        return Decision(
            True,
            "already champion (an earlier attempt registered it)",
            _path(previous),
        )

    champ = current_champion(_records(runs))
    champ_run = next((r for r in runs if r.pathspec == _path(champ)), None)
    decision = decide(
        metrics,
        policy,
        gate_passed,
        _path(champ),
        None if champ_run is None else _metric_of(champ_run, policy),
    )
    at = _newest_time([*runs, run])
    gate = {True: "gate passed", False: "gate failed", None: "no gate"}[gate_passed]
    add = [f"{PIPELINE_PREFIX}{pipeline_id}", REGISTERED]
    if own.registered_at is None:
        note = gate if decision.champion else decision.reason
        add.append(Event(at, "registered", user, note).tag())
    if gate_passed is False:
        add.append(GATE_FAILED)
    if decision.champion:
        add += [CHAMPION, Event(at + _TICK, "promoted", user, f"auto: {decision.reason}").tag()]
    store.write_tags(run, add)
    winner = pathspec if decision.champion else _path(champ)
    _settle(
        [*runs, run],
        winner,
        _path(champ),
        at + _TICK,
        user,
        "demoted",
        f"replaced by {pathspec}: {decision.reason}",
    )
    return decision


def promote(
    ref: str,
    user: str,
    reason: str | None = None,
    flows: Iterable[str] | None = None,
    force: bool = False,
) -> Decision:
    """Make a model champion by hand: bypasses the margin, not the gate (unless forced)."""
    run = versions.resolve(ref, flows)
    registered = REGISTERED in run.tags
    if not registered and not force:
        raise RegistryError(
            f"run '{run.pathspec}' is not a registered model (it never finished `register`)",
            "promote a registered model (`mlplatform models list`), or add --force",
        )
    pipeline_id = pipeline_of(run.tags)
    if pipeline_id is None:
        raise RegistryError(
            f"run '{run.pathspec}' belongs to no pipeline (it has no pipeline: tag)",
            "only runs of the pipeline templates can be promoted",
        )
    if GATE_FAILED in run.tags and not force:
        raise RegistryError(
            f"model '{run.pathspec}' failed its promotion gate",
            "promote a model that passed, or add --force to promote it anyway",
        )
    runs = [
        r for r in _pipeline_runs(pipeline_id, flows, run.pathspec) if r.pathspec != run.pathspec
    ]
    champ = current_champion(_records([*runs, run]))
    at = _newest_time([*runs, run])
    previous = _path(champ)
    if previous == run.pathspec:
        _settle([*runs, run], previous, None, at, user, "demoted", "")
        return Decision(True, f"{run.pathspec} is already the champion of {pipeline_id}", previous)
    why = "manual" + (", forced" if force else "") + (f": {reason}" if reason else "")
    add = [CHAMPION, Event(at, "promoted", user, why).tag()]
    if not registered:
        add += [REGISTERED, Event(at, "registered", user, "forced by promote").tag()]
    store.write_tags(run, add)
    _settle(
        [*runs, run],
        run.pathspec,
        previous,
        at,
        user,
        "demoted",
        f"replaced by {run.pathspec} ({why})",
    )
    over = f"over {previous}" if previous else "(no champion before)"
    said = (" (forced)" if force else "") + (f": {reason}" if reason else "")
    return Decision(True, f"{run.pathspec} promoted by {user} {over}{said}", previous)


def rollback(pipeline_id: str, user: str, flows: Iterable[str] | None = None) -> Decision:
    """Give the champion back to the one before it; a second rollback undoes the first."""
    runs = store.registered_runs(pipeline_id, flows)
    records = _records(runs)
    champ = current_champion(records)
    if champ is None:
        raise NotFoundError(
            f"pipeline '{pipeline_id}' has no champion to roll back",
            "list models with `mlplatform models list`",
        )
    before = previous_champion(records)
    if before is None:
        raise RegistryError(
            f"pipeline '{pipeline_id}' has no previous champion to roll back to",
            "promote a model explicitly with `mlplatform models promote REF`",
        )
    target = next(r for r in runs if r.pathspec == before.pathspec)
    at = _newest_time(runs)
    store.write_tags(
        target, [CHAMPION, Event(at, "restored", user, f"rollback from {champ.pathspec}").tag()]
    )
    _settle(
        runs,
        target.pathspec,
        champ.pathspec,
        at,
        user,
        "rolled-back",
        f"rolled back to {target.pathspec}",
    )
    return Decision(
        True,
        f"rolled back {pipeline_id} from {champ.pathspec} to {target.pathspec}",
        champ.pathspec,
    )
