"""Run records from the Metaflow client API, on whatever metadata provider Metaflow is set to.

Status and times come from task metadata, not `Run.successful`/`finished_at` (those read the
end task's artifacts, and a run failing before `end` never reads finished: Netflix/metaflow
#3320, #1104). An attempt writes `attempt` (N) as it starts and `attempt_ok` ("True"/"False")
as it ends; on Batch, `aws-batch-job-id` and `ec2-instance-type` in between. A run is
completed when every task of its end step ended its latest attempt ok; failed when a task's
latest attempt ended not ok, or the run crashed; running otherwise. While @retry waits to
retry, a local-metadata run reads failed until the next attempt starts; on the service, a
runtime still heartbeating 30 s after the failure is waiting to retry: running.

A crash leaves an attempt without an outcome. The service keeps `last_heartbeat_ts` on runs
and tasks, carried in each client object's record (`_object`; no public property): newest
beat older than `monitoring.heartbeat_cutoff_seconds` means failed, the Metaflow UI backend's
rule. Local metadata has no heartbeats and a long task writes nothing until it ends, so the
sign is the run's newest timestamp: failed once older than `no_heartbeat_cutoff_seconds`
(a day: a shorter cutoff would call a long local training step dead).

Cost per run, in metadata requests (HTTP GETs on the service; a glob and small JSON reads
locally): 1 for its steps, 1 per step for its tasks, 1 per task for its metadata: 7 for three
one-task steps, against 21 for `Run.successful` & co. (benchmarks/monitoring_client.py). A
failed task adds 2 (the `_exception` record, its value from the datastore); a run with no `end`
step whose tasks all ended ok, 3 (a custom end step's name, from `_parameters`). Per flow: 1 to
list its runs, +1 to open it by name. No other artifact is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlplatform.errors import PlatformError
from mlplatform.monitoring.records import RunRecord, RunStatus, TaskRecord
from mlplatform.settings import get_settings

REMOTE_MARKERS = ("aws-batch-job-id", "kubernetes-pod-name")
KEPT_FIELDS = (*REMOTE_MARKERS, "ec2-instance-type")
NO_HEARTBEAT_CUTOFF_SECONDS = 86_400
# A dead runtime's last heartbeat lands within ~20 s of its failure (one every 10 s at most).
RETRY_GRACE_SECONDS = 30
NEVER = datetime.max.replace(tzinfo=UTC)


def _metaflow() -> Any:
    import metaflow  # here: `mlplatform --help` should not pay for importing Metaflow

    return metaflow


@dataclass
class _Attempt:
    number: int
    started: datetime | None = None
    finished: datetime | None = None
    ok: bool | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return any(m in self.fields for m in REMOTE_MARKERS)


@dataclass
class _TaskView:
    step: str
    task: Any  # metaflow.Task, kept to read the exception of a failed one
    created: datetime
    attempts: list[_Attempt]

    def outcome(self) -> bool | None:
        """attempt_ok of the latest attempt; None while it runs (or if it never reported)."""
        return self.attempts[-1].ok if self.attempts else None

    def ended(self) -> datetime:
        return (self.attempts[-1].finished if self.attempts else None) or self.created


class ClientCollector:
    """Runs via the Metaflow client; `namespace` keeps only runs with that tag (None: all)."""

    def __init__(
        self,
        namespace: str | None = None,
        *,
        heartbeat_cutoff_seconds: int | None = None,
        no_heartbeat_cutoff_seconds: float = NO_HEARTBEAT_CUTOFF_SECONDS,
        local_task_cores: float = 1.0,
        workers: int = 4,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if heartbeat_cutoff_seconds is None:
            heartbeat_cutoff_seconds = get_settings().monitoring.heartbeat_cutoff_seconds
        self.namespace = namespace
        self.heartbeat_cutoff_seconds = heartbeat_cutoff_seconds
        self.no_heartbeat_cutoff_seconds = no_heartbeat_cutoff_seconds
        # A local task is one process; the client records neither its cores nor its CPU time.
        self.local_task_cores = local_task_cores
        self.workers = max(1, workers)
        self.clock = clock or (lambda: datetime.now(UTC))

    def describe(self) -> str:
        return f"Metaflow client API ({_metaflow().get_metadata()})"

    def collect(self, since: datetime, flows: list[str] | None = None) -> list[RunRecord]:
        mf = _metaflow()
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since  # naive: UTC
        try:
            runs = [run for flow in self._flows(mf, flows) for run in self._runs(flow, since)]
            # The calls wait on HTTP or small files: overlapping them hides most latency.
            with ThreadPoolExecutor(self.workers) as pool:
                records = list(pool.map(self.record, runs))
        except (mf.exception.MetaflowException, OSError) as exc:
            raise PlatformError(
                f"cannot read runs from {self.describe()}: {getattr(exc, 'message', exc)}",
                "check METAFLOW_DEFAULT_METADATA / METAFLOW_SERVICE_URL and that it is reachable",
            ) from None
        return sorted(records, key=lambda r: r.started, reverse=True)

    def _flows(self, mf: Any, names: list[str] | None) -> Iterator[Any]:
        if names is None:
            # Not Metaflow().flows: it lists every flow's runs to check namespaces (#2942).
            for obj in mf.Metaflow().metadata.get_object("root", "flow", None, None) or []:
                yield mf.Flow(_object=obj, _namespace_check=False)
            return
        for name in dict.fromkeys(names):
            try:
                yield mf.Flow(name, _namespace_check=False)
            except mf.exception.MetaflowNotFound:
                continue  # a flow nobody has run yet has no runs to report

    def _runs(self, flow: Any, since: datetime) -> Iterator[Any]:
        for run in flow:  # newest first
            if _created(run) < since:
                break
            if self.namespace is None or self.namespace in run.tags:
                yield run

    def record(self, run: Any) -> RunRecord:
        """One run's record: its steps, tasks and their metadata (see the module docstring)."""
        views = [
            _TaskView(step.id, task, _created(task), _attempts(task.metadata))
            for step in run
            for task in step
        ]
        started = _created(run)
        status, finished, culprit = self._outcome(run, views, started)
        return RunRecord(
            flow=run.path_components[0],
            run_id=run.id,
            user=_tag_value(run.system_tags, "user:"),
            status=status,
            started=started,
            finished=finished,
            project=_tag_value(run.system_tags, "project:"),
            branch=_tag_value(run.system_tags, "project_branch:"),
            team=_tag_value(run.user_tags, "team:"),
            tags=frozenset(run.tags),
            step_seconds=_step_seconds(views),
            failing_step=culprit.step if culprit is not None else None,
            exception_type=_exception_type(culprit),
            retries=sum(len(v.attempts) - 1 for v in views if v.attempts),
            tasks=tuple(
                sorted(self._task_records(views), key=lambda t: (t.started or NEVER, t.attempt))
            ),
        )

    def _outcome(
        self, run: Any, views: list[_TaskView], started: datetime
    ) -> tuple[RunStatus, datetime | None, _TaskView | None]:
        """(status, finished, the task to blame) as the module docstring describes."""
        failed = sorted((v for v in views if v.outcome() is False), key=_TaskView.ended)
        beats = [b for b in (_heartbeat(run), *(_heartbeat(v.task) for v in views)) if b]
        last_beat = max(beats) if beats else None
        if failed:
            since_failure = (last_beat - failed[0].ended()).total_seconds() if last_beat else 0
            if since_failure <= RETRY_GRACE_SECONDS:
                return "failed", failed[0].ended(), failed[0]
        else:
            # Only a run with every task ok and no `end` step can have ended at a custom one.
            custom = (
                views and all(v.outcome() for v in views) and "end" not in {v.step for v in views}
            )
            end = _end_step(run) if custom else "end"
            ends = [v for v in views if v.step == end]
            if ends and all(v.outcome() for v in ends):
                return "completed", max(v.ended() for v in ends), None
        stamps = (t for v in views for a in v.attempts for t in (a.started, a.finished) if t)
        progress = max([started, *(v.created for v in views), *stamps])
        idle = (self.clock() - (last_beat or progress)).total_seconds()
        cutoff = self.heartbeat_cutoff_seconds if last_beat else self.no_heartbeat_cutoff_seconds
        if idle <= cutoff:
            return "running", None, None
        open_ = [v for v in views if v.outcome() is None]
        culprit = max(open_, key=lambda v: v.created) if open_ else next(iter(failed), None)
        return "failed", max(progress, last_beat or progress), culprit

    def _task_records(self, views: list[_TaskView]) -> Iterator[TaskRecord]:
        for view in views:
            for a in view.attempts:
                started = _compute_start(view, a)
                seconds = (a.finished - started).total_seconds() if a.finished and started else None
                cpu = None if a.remote or seconds is None else seconds * self.local_task_cores
                # Batch: the runtime registers the task, then submits it; the attempt starts in
                # the container. A retry is resubmitted after a delay: no wait is measured.
                batch = "aws-batch-job-id" in a.fields and a.number == 0
                wait = (a.started - view.created).total_seconds() if batch and a.started else None
                yield TaskRecord(
                    step=view.step,
                    task_id=str(view.task.id),
                    started=started,
                    finished=a.finished,
                    attempt=a.number,
                    instance_type=a.fields.get("ec2-instance-type"),
                    queue_wait_seconds=wait,
                    cpu_seconds=cpu,
                )


def _compute_start(view: _TaskView, attempt: _Attempt) -> datetime | None:
    """Remotely, when it started in its container (before, it queued). Locally, when the
    runtime registered the task and spawned its process: start-up (imports, loading inputs)
    precedes the `attempt` row. A local retry's spawn is not recorded: `attempt` stands in."""
    if attempt.number == 0 and (not attempt.remote or attempt.started is None):
        return view.created
    return attempt.started


def _attempts(metadata: list[Any]) -> list[_Attempt]:
    """Split a task's metadata rows into attempts by time: each `attempt` row opens one."""
    attempts: dict[int, _Attempt] = {}
    current = 0
    # On a tie, the `attempt` row first: rows written in the same millisecond follow it.
    for row in sorted(metadata, key=lambda m: (m.created_at, m.name != "attempt")):
        at = datetime.fromtimestamp(row.created_at / 1000, UTC)
        if row.name == "attempt":
            current = int(row.value)
        attempt = attempts.setdefault(current, _Attempt(current))
        if row.name == "attempt":
            attempt.started = at
        elif row.name == "attempt_ok":
            attempt.ok, attempt.finished = row.value == "True", at
        elif row.name == "attempt-done" and attempt.finished is None:
            attempt.finished = at
        elif row.name in KEPT_FIELDS:
            attempt.fields[row.name] = row.value
    return [attempts[n] for n in sorted(attempts)]


def _end_step(run: Any) -> str:
    """A flow may name its end step (`_parameters` records it); older runs have none."""
    mf = _metaflow()
    try:
        params = mf.Step(f"{run.pathspec}/_parameters", _namespace_check=False).task
    except mf.exception.MetaflowNotFound:
        return "end"
    return str(params.metadata_dict.get("end_step", "end")) if params is not None else "end"


def _exception_type(culprit: _TaskView | None) -> str | None:
    """Class name of the exception a failed task stored; None if it stored none or crashed."""
    if culprit is None or culprit.outcome() is not False:
        return None
    try:
        exc = culprit.task.exception
    except Exception:  # listed but unreadable (datastore down, pruned): not worth a failure
        return None
    name = getattr(exc, "type", None) or type(exc).__name__  # MetaflowExceptionWrapper.type
    return None if exc is None else str(name).rsplit(".", 1)[-1]


def _step_seconds(views: list[_TaskView]) -> dict[str, float]:
    """Wall time per step, first task registered (queue wait included) to last attempt end;
    a step with a task still open is left out."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    open_steps = {v.step for v in views if not v.attempts or v.attempts[-1].finished is None}
    for view in views:
        if view.step in open_steps:
            continue
        low, high = spans.get(view.step, (view.created, view.ended()))
        spans[view.step] = (min(low, view.created), max(high, view.ended()))
    return {step: (high - low).total_seconds() for step, (low, high) in spans.items()}


def _heartbeat(obj: Any) -> datetime | None:
    """The service's `last_heartbeat_ts` (epoch seconds) of a run or task; local has none."""
    value = (getattr(obj, "_object", None) or {}).get("last_heartbeat_ts")
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _tag_value(tags: frozenset[str], prefix: str) -> str | None:
    return next((t[len(prefix) :] for t in sorted(tags) if t.startswith(prefix)), None)


def _created(obj: Any) -> datetime:
    """Metaflow's `created_at` is a naive local time; `astimezone` reads it as one."""
    moment: datetime = obj.created_at
    return moment.astimezone(UTC)
