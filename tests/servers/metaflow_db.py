"""The Metaflow metadata service's PostgreSQL schema, and rows shaped as the service writes them.

`SCHEMA` (`TABLES` + `INDEXES`) mirrors Netflix/metaflow-service at commit 91e44f0 (v2.5.1, the snapshot named in
../shared/reference/metaflow.md): the goose migrations from `1_create_tables.sql` through
`20260706000003_add_metadata_cursor_composite_index.sql`, folded into their end state — every
table, column, type and primary key of `metaflow-db-columns.csv`, the unique constraints and the
indexes the UI backend's queries rely on. Table names keep the service's `_v3` suffix.

`MetadataWriter` writes what Metaflow 2.19 + the service store (metaflow.md §1.4b): ts_epoch in
epoch ms, last_heartbeat_ts in epoch s, tags as JSON arrays, `null` JSON in metadata
system_tags (the service json.dumps a missing list), run_id/task_name NULL for numeric ids but
steps_v3.run_id the number as text, one `_parameters` task per run, per task attempt the
`attempt` row at start and `attempt_ok` ('True'/'False') + `attempt-done` at the end, Batch
metadata (`aws-batch-job-id`, `ec2-instance-type`, ...) on Batch attempts, and an `_exception`
artifact on every finished attempt (its value lives in the datastore: `exceptions` stands in).
Rows are buffered and COPYed on `flush()`, so 10,000 runs load in seconds.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

TABLES = """
CREATE TABLE flows_v3 (flow_id VARCHAR(255) PRIMARY KEY, user_name VARCHAR(255),
  ts_epoch BIGINT NOT NULL, tags JSONB, system_tags JSONB);
CREATE TABLE runs_v3 (flow_id VARCHAR(255) NOT NULL REFERENCES flows_v3 (flow_id),
  run_number SERIAL NOT NULL, user_name VARCHAR(255), ts_epoch BIGINT NOT NULL, tags JSONB,
  system_tags JSONB, run_id VARCHAR(255), last_heartbeat_ts BIGINT,
  PRIMARY KEY (flow_id, run_number), UNIQUE (flow_id, run_id));
CREATE TABLE steps_v3 (flow_id VARCHAR(255) NOT NULL, run_number BIGINT NOT NULL,
  step_name VARCHAR(255) NOT NULL, user_name VARCHAR(255), ts_epoch BIGINT NOT NULL, tags JSONB,
  system_tags JSONB, run_id VARCHAR(255), PRIMARY KEY (flow_id, run_number, step_name),
  UNIQUE (flow_id, run_id, step_name),
  FOREIGN KEY (flow_id, run_number) REFERENCES runs_v3 (flow_id, run_number));
CREATE TABLE tasks_v3 (flow_id VARCHAR(255) NOT NULL, run_number BIGINT NOT NULL,
  step_name VARCHAR(255) NOT NULL, task_id BIGSERIAL PRIMARY KEY, user_name VARCHAR(255),
  ts_epoch BIGINT NOT NULL, tags JSONB, system_tags JSONB, run_id VARCHAR(255),
  task_name VARCHAR(255), last_heartbeat_ts BIGINT,
  UNIQUE (flow_id, run_number, step_name, task_name),
  FOREIGN KEY (flow_id, run_number, step_name)
    REFERENCES steps_v3 (flow_id, run_number, step_name));
CREATE TABLE metadata_v3 (flow_id VARCHAR(255) NOT NULL, run_number BIGINT NOT NULL,
  step_name VARCHAR(255) NOT NULL, task_id BIGINT NOT NULL, id BIGSERIAL NOT NULL,
  field_name VARCHAR(255) NOT NULL, value TEXT NOT NULL, type VARCHAR(255) NOT NULL,
  user_name VARCHAR(255), ts_epoch BIGINT NOT NULL, tags JSONB, system_tags JSONB,
  run_id VARCHAR(255), task_name VARCHAR(255),
  PRIMARY KEY (id, flow_id, run_number, step_name, task_id, field_name));
CREATE TABLE artifact_v3 (flow_id VARCHAR(255) NOT NULL, run_number BIGINT NOT NULL,
  step_name VARCHAR(255) NOT NULL, task_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL,
  location VARCHAR(255) NOT NULL, ds_type VARCHAR(255) NOT NULL, sha VARCHAR(255),
  type VARCHAR(255), content_type VARCHAR(255), user_name VARCHAR(255),
  attempt_id SMALLINT NOT NULL, ts_epoch BIGINT NOT NULL, tags JSONB, system_tags JSONB,
  run_id VARCHAR(255), task_name VARCHAR(255),
  PRIMARY KEY (flow_id, run_number, step_name, task_id, attempt_id, name));
"""

INDEXES = """
CREATE INDEX runs_v3_idx_ts_epoch ON runs_v3 (ts_epoch);
CREATE INDEX runs_v3_idx_epoch_ts_desc ON runs_v3 (ts_epoch DESC);
CREATE INDEX runs_v3_idx_flow_id_asc_ts_epoch_desc ON runs_v3 (flow_id ASC, ts_epoch DESC);
CREATE INDEX runs_v3_idx_flow_ts_runnum_desc ON runs_v3 (flow_id, ts_epoch DESC, run_number DESC);
CREATE INDEX runs_v3_idx_gin_tags_combined ON runs_v3 USING gin ((tags || system_tags));
CREATE INDEX runs_v3_idx_str_ids_primary_key_v2 ON runs_v3 (flow_id, run_id);
CREATE INDEX steps_v3_idx_str_ids_primary_key_v2 ON steps_v3 (flow_id, run_id, step_name);
CREATE INDEX tasks_v3_idx_ts_epoch ON tasks_v3 (ts_epoch);
CREATE INDEX tasks_v3_run_id_flow_id_idx ON tasks_v3 (flow_id, run_id, step_name, task_name);
CREATE INDEX tasks_v3_idx_flow_run_step_ts_task_desc
  ON tasks_v3 (flow_id, run_number, step_name, ts_epoch DESC, task_id DESC);
CREATE INDEX metadata_v3_akey ON metadata_v3 (flow_id, run_number, step_name, task_id, field_name);
CREATE INDEX metadata_v3_idx_run_join_end_task_attempt_ok
  ON metadata_v3 (flow_id, run_number, step_name, ts_epoch DESC)
  WHERE field_name = 'attempt_ok' AND step_name = 'end';
CREATE INDEX metadata_v3_idx_str_ids_a_key
  ON metadata_v3 (flow_id, run_id, step_name, task_name, field_name);
CREATE INDEX metadata_v3_idx_flow_run_ts_id_desc
  ON metadata_v3 (flow_id, run_number, ts_epoch DESC, id DESC);
CREATE INDEX artifact_v3_run_id_flow_id_idx
  ON artifact_v3 (flow_id, run_id, step_name, task_id, attempt_id, name);
CREATE INDEX artifact_v3_idx_latest_attempt
  ON artifact_v3 (flow_id, run_number, task_id, name, ts_epoch DESC);
"""

_COLUMNS = {
    "flows_v3": "flow_id, user_name, ts_epoch, tags, system_tags",
    "runs_v3": "flow_id, run_number, user_name, ts_epoch, tags, system_tags, run_id, "
    "last_heartbeat_ts",
    "steps_v3": "flow_id, run_number, step_name, user_name, ts_epoch, tags, system_tags, run_id",
    "tasks_v3": "flow_id, run_number, step_name, task_id, user_name, ts_epoch, tags, "
    "system_tags, run_id, task_name, last_heartbeat_ts",
    "metadata_v3": "flow_id, run_number, step_name, task_id, field_name, value, type, "
    "user_name, ts_epoch, tags, system_tags, run_id, task_name",
    "artifact_v3": "flow_id, run_number, step_name, task_id, name, location, ds_type, sha, "
    "type, content_type, user_name, attempt_id, ts_epoch, tags, system_tags, run_id, task_name",
}
_ARTIFACTS = ("name", "_current_step", "_foreach_stack", "_task_ok", "_success", "_exception")
_NULL_JSON = "null"


SCHEMA = TABLES + INDEXES


def create_schema(conn: psycopg.Connection[Any], indexes: bool = True) -> None:
    """The service's tables; `indexes=False` defers indexes until after a bulk load."""
    conn.execute(SCHEMA if indexes else TABLES)
    conn.commit()


def create_indexes(conn: psycopg.Connection[Any]) -> None:
    conn.execute(INDEXES)  # several statements: the simple query protocol runs them all
    conn.execute("ANALYZE")
    conn.commit()


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """One attempt of a task; `finished=None` means it crashed or is still running."""

    started: datetime
    finished: datetime | None = None
    ok: bool = True
    instance_type: str | None = None  # set: the attempt ran on AWS Batch
    exception: str | None = None  # type name of a failed attempt's exception


@dataclass
class RunWriter:
    writer: MetadataWriter
    flow: str
    run_number: int
    user: str
    started: datetime
    tags: list[str]
    system_tags: list[str]
    heartbeat: datetime | None = None
    last_activity: datetime | None = None
    steps: set[str] = field(default_factory=set)

    def task(self, step: str, attempts: Sequence[Attempt], created: datetime | None = None,
             heartbeat: datetime | None = None) -> int:  # fmt: skip
        """Write one task with its attempts; returns its task_id."""
        return self.writer._task(self, step, attempts, created, heartbeat)


class MetadataWriter:
    """Buffers rows in the service's shapes; `flush()` COPYs them and commits."""

    def __init__(self, conn: psycopg.Connection[Any], ds_root: str = "/home/ds/.metaflow") -> None:
        self.conn = conn
        self.ds_root = ds_root
        self.exceptions: dict[str, str] = {}  # `_exception` sha -> exception type (the datastore)
        self._rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _COLUMNS}
        self._flows: set[str] = set()
        self._runs: list[RunWriter] = []
        self._ids: dict[str, list[int]] = {"runs_v3_run_number_seq": [], "tasks_v3_task_id_seq": []}

    def _next_id(self, sequence: str) -> int:
        pool = self._ids[sequence]
        if not pool:  # ids come from the service's own sequences, as its INSERTs would draw them
            rows = self.conn.execute(
                "SELECT nextval(%s) FROM generate_series(1, 2000)", (sequence,)
            ).fetchall()
            pool.extend(sorted((int(r[0]) for r in rows), reverse=True))
        return pool.pop()

    def run(self, flow: str, user: str, started: datetime, *, tags: Sequence[str] = (),
            project: str | None = None, branch: str | None = None,
            heartbeat: datetime | None = None) -> RunWriter:  # fmt: skip
        """A run as `metaflow run` creates it; `heartbeat` defaults to its last task activity."""
        if flow not in self._flows:
            self._flows.add(flow)
            self._rows["flows_v3"].append((flow, user, _ms(started), "[]", "[]"))
        system = [f"user:{user}", "runtime:dev", "python_version:3.11.2",
                  "metaflow_version:2.19.39"]  # fmt: skip
        if project:
            system += [f"project:{project}", f"project_branch:{branch or 'user.' + user}"]
        run = RunWriter(self, flow, self._next_id("runs_v3_run_number_seq"), user, started,
                        list(tags), system, heartbeat)  # fmt: skip
        self._runs.append(run)
        params = self._task(run, "_parameters", [], started, None)
        self._meta(run, "_parameters", params, 0, started, [("attempt-done", "0")])
        return run

    def _task(self, run: RunWriter, step: str, attempts: Sequence[Attempt],
              created: datetime | None, heartbeat: datetime | None) -> int:  # fmt: skip
        created = created or (attempts[0].started if attempts else run.started)
        if step not in run.steps:
            run.steps.add(step)
            self._rows["steps_v3"].append((run.flow, run.run_number, step, run.user, _ms(created),
                                           "[]", json.dumps(run.system_tags), str(run.run_number)))  # fmt: skip
        task_id = self._next_id("tasks_v3_task_id_seq")
        times = [created] + [t for a in attempts for t in (a.started, a.finished) if t]
        last = max(times)
        run.last_activity = max(last, run.last_activity or last)
        beat = round((heartbeat or last).timestamp())
        self._rows["tasks_v3"].append((run.flow, run.run_number, step, task_id, run.user,
                                       _ms(created), "[]", json.dumps(run.system_tags), None,
                                       None, beat))  # fmt: skip
        # `_new_task` registers system info as attempt-0 metadata when the runtime creates it.
        system = [(tag.split(":", 1)[0], tag.split(":", 1)[1]) for tag in run.system_tags[:4]]
        self._meta(run, step, task_id, 0, created, [*system, ("script-name", "flow.py")])
        for number, attempt in enumerate(attempts):
            self._attempt(run, step, task_id, number, attempt)
        return task_id

    def _attempt(self, run: RunWriter, step: str, task_id: int, number: int, a: Attempt) -> None:
        start = [("attempt", str(number)), ("origin-run-id", "None"), ("ds-type", "local"),
                 ("ds-root", self.ds_root)]  # fmt: skip
        if a.instance_type:
            job = _sha(f"{run.flow}/{run.run_number}/{task_id}/{number}")[:32]
            start += [("aws-batch-job-id", job), ("aws-batch-job-attempt", "1"),
                      ("aws-batch-ce-name", "metaflow-cpu"), ("aws-batch-jq-name", "metaflow"),
                      ("aws-batch-execution-env", "AWS_ECS_EC2"), ("ec2-instance-id", "i-" + job[:17]),
                      ("ec2-instance-type", a.instance_type), ("ec2-region", "eu-west-1"),
                      ("ec2-availability-zone", "eu-west-1a")]  # fmt: skip
        self._meta(run, step, task_id, number, a.started, start)
        if a.finished is None:
            return
        self._meta(run, step, task_id, number, a.finished,
                   [("attempt_ok", str(a.ok)), ("attempt-done", str(number))])  # fmt: skip
        failure = None if a.ok else (a.exception or "Exception")
        for name in _ARTIFACTS:
            sha = _sha(f"{name}:{failure}" if name == "_exception" else f"{name}:{step}:{a.ok}")
            if name == "_exception" and failure:
                self.exceptions[sha] = failure
            self._rows["artifact_v3"].append((run.flow, run.run_number, step, task_id, name,
                f":root:{self.ds_root}", "local", sha, "metaflow.artifact", "gzip+pickle-v4",
                run.user, number, _ms(a.finished), "[]", json.dumps(run.system_tags), None, None))  # fmt: skip

    def _meta(self, run: RunWriter, step: str, task_id: int, attempt: int, at: datetime,
              fields: list[tuple[str, str]]) -> None:  # fmt: skip
        tags = json.dumps([f"attempt_id:{attempt}"])
        field_type = {"attempt_ok": "internal_attempt_status"}
        for name, value in fields:
            self._rows["metadata_v3"].append((run.flow, run.run_number, step, task_id, name,
                value, field_type.get(name, name), run.user, _ms(at), tags, _NULL_JSON, None, None))  # fmt: skip

    def flush(self) -> None:
        for run in self._runs:
            beat = run.heartbeat or run.last_activity or run.started
            self._rows["runs_v3"].append((run.flow, run.run_number, run.user, _ms(run.started),
                json.dumps(run.tags), json.dumps(run.system_tags), None, round(beat.timestamp())))  # fmt: skip
        self._runs.clear()
        with self.conn.cursor() as cur:
            for table, columns in _COLUMNS.items():  # parents first: the service's foreign keys
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in self._rows[table]:
                        copy.write_row(row)
                self._rows[table].clear()
        self.conn.commit()


def generate_runs(writer: MetadataWriter, n_runs: int, tasks_per_run: int, seed: int,
                  now: datetime | None = None) -> Counter[str]:  # fmt: skip
    """Runs over the last 30 days: ~85% completed, 7% failed, 4% crashed, 4% running.

    Each run is start, prepare, a foreach `train` fan-out, evaluate, end (`tasks_per_run`
    tasks), 40% on AWS Batch, 5% of tasks retried once. Returns the status each run should read
    as under the UI backend's rule, for a heartbeat cutoff of up to an hour.
    """
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    fan = max(1, tasks_per_run - 4)
    steps = ["start", "prepare", *["train"] * fan, "evaluate", "end"]
    expected: Counter[str] = Counter()
    for _ in range(n_runs):
        roll = rng.random()
        kind = "completed" if roll < 0.85 else "failed" if roll < 0.92 else (
            "crashed" if roll < 0.96 else "running")  # fmt: skip
        age = rng.uniform(60, 1800) if kind == "running" else rng.uniform(7200, 30 * 86400)
        at = now - timedelta(seconds=age)
        project = rng.choice([None, "churn", "ltv", "fraud"])
        run = writer.run(f"Flow{rng.randrange(25):02d}", f"user{rng.randrange(25):02d}", at,
                         tags=[f"team:{rng.choice(['ds', 'ml', 'growth'])}"], project=project,
                         branch=rng.choice(["prod", "user.dev"]))  # fmt: skip
        batch = rng.choice(["c5.large", "m5.xlarge", "r5.2xlarge"]) if rng.random() < 0.4 else None
        stop = rng.randrange(len(steps)) if kind != "completed" else len(steps)
        for index, step in enumerate(steps[: stop + 1]):
            at += timedelta(seconds=rng.uniform(1, 30))
            if kind == "running" and (index == stop or at > now - timedelta(seconds=200)):
                # the current task has started, has no outcome, and keeps heartbeating
                start = min(at, now - timedelta(seconds=10))
                run.task(step, [Attempt(start, None, True, batch)], heartbeat=now)
                run.heartbeat = now - timedelta(seconds=5)
                break
            attempts = []
            if index < stop and rng.random() < 0.05:  # a retried task: failed once, then ok
                end = at + timedelta(seconds=rng.uniform(1, 60))
                attempts.append(Attempt(at, end, False, batch, "TimeoutError"))
                at = end + timedelta(seconds=rng.uniform(1, 5))
            end = at + timedelta(seconds=rng.uniform(1, 120))
            if index < stop:
                attempts.append(Attempt(at, end, True, batch))
            elif kind == "failed":
                failure = rng.choice(["ValueError", "KeyError", "MemoryError"])
                attempts.append(Attempt(at, end, False, batch, failure))
            else:  # crashed: the last task started, then its process and heartbeats stopped
                attempts.append(Attempt(at, None, True, batch))
            run.task(step, attempts)
            at = end
        expected["completed" if kind == "completed" else kind.replace("crashed", "failed")] += 1
    return expected
