"""The SQL the metadata-database collector runs, against the metadata service's schema.

Table and column names are the service's (`runs_v3`, `metadata_v3`, ...; see
../shared/reference/metaflow-db-columns.csv in the design notes). Kept apart from
`collect_sql.py` so the queries can be read, and reviewed against the service, on their own.
"""

# A run without a heartbeat (old clients) that is this old is failed: the UI backend's
# OLD_RUN_FAILURE_CUTOFF_TIME default (services/ui_backend_service/data/db/tables/base.py).
OLD_RUN_FAILURE_CUTOFF_MS = 14 * 86400 * 1000

# Mirrors the joins and the `status`/`finished_at` columns of Netflix/metaflow-service
# services/ui_backend_service/data/db/tables/run.py (commit c64fd3b): the `end` step's latest
# `attempt_ok`, an `end` retry that started after a failed one, else a stale run heartbeat with
# a stale task that has no successful outcome. Differences, each deliberate: `now` is a
# parameter (tests and the caller's clock agree), the cutoff is ours, a task's outcome is its
# latest `attempt_ok` rather than an arbitrary one, and a retry of a failed `end` is running
# only while the heartbeat is fresh (the UI shows a crashed retry as running forever).
RUNS_SQL = """
SELECT r.flow_id, r.run_number, COALESCE(r.run_id, r.run_number::text),
  CASE WHEN r.system_tags ? ('user:' || r.user_name) THEN r.user_name END,
  to_timestamp(r.ts_epoch / 1000.0), r.tags, r.system_tags,
  CASE
    WHEN end_ok.value IS TRUE THEN 'completed'
    WHEN r.last_heartbeat_ts IS NOT NULL AND stale_task.found IS NOT NULL
      AND @(%(now_s)s - r.last_heartbeat_ts) > %(cutoff_s)s THEN 'failed'
    WHEN end_ok.value IS FALSE AND end_retry.ts_epoch > end_ok.ts_epoch
      AND (r.last_heartbeat_ts IS NULL OR @(%(now_s)s - r.last_heartbeat_ts) <= %(cutoff_s)s)
      THEN 'running'
    WHEN end_ok.value IS FALSE THEN 'failed'
    WHEN r.last_heartbeat_ts IS NULL AND @(%(now_ms)s - r.ts_epoch) > %(old_ms)s THEN 'failed'
    ELSE 'running'
  END,
  to_timestamp(CASE
    WHEN end_retry.ts_epoch > end_ok.ts_epoch THEN NULL
    WHEN end_ok.ts_epoch IS NOT NULL THEN end_ok.ts_epoch
    WHEN r.last_heartbeat_ts IS NOT NULL AND stale_task.found IS NOT NULL
      AND @(%(now_s)s - r.last_heartbeat_ts) > %(cutoff_s)s THEN r.last_heartbeat_ts * 1000
  END / 1000.0)
FROM runs_v3 r
LEFT JOIN LATERAL (SELECT m.ts_epoch, m.value::boolean AS value FROM metadata_v3 m
  WHERE m.flow_id = r.flow_id AND m.run_number = r.run_number AND m.step_name = 'end'
    AND m.field_name = 'attempt_ok' ORDER BY m.ts_epoch DESC LIMIT 1) end_ok ON true
LEFT JOIN LATERAL (SELECT m.ts_epoch FROM metadata_v3 m
  WHERE m.flow_id = r.flow_id AND m.run_number = r.run_number AND m.step_name = 'end'
    AND m.field_name = 'attempt' AND end_ok.value IS FALSE
  ORDER BY m.ts_epoch DESC LIMIT 1) end_retry ON true
LEFT JOIN LATERAL (SELECT 1 AS found FROM tasks_v3 t
  LEFT JOIN LATERAL (SELECT m.value::boolean AS is_ok FROM metadata_v3 m
    WHERE m.flow_id = t.flow_id AND m.run_number = t.run_number AND m.step_name = t.step_name
      AND m.task_id = t.task_id AND m.field_name = 'attempt_ok'
    ORDER BY m.ts_epoch DESC LIMIT 1) outcome ON true
  WHERE t.flow_id = r.flow_id AND t.run_number = r.run_number
    AND @(%(now_s)s - r.last_heartbeat_ts) > %(cutoff_s)s
    AND end_ok.ts_epoch IS NULL AND end_retry.ts_epoch IS NULL AND outcome.is_ok IS NOT TRUE
    AND @(%(now_s)s - t.last_heartbeat_ts) > %(cutoff_s)s
  LIMIT 1) stale_task ON true
WHERE r.ts_epoch >= %(since_ms)s {flow_filter}
ORDER BY r.ts_epoch DESC, r.run_number DESC
"""

# One row per task attempt of the same runs. An attempt starts at its `attempt` row and ends
# at its `attempt_ok` (`attempt-done` follows within milliseconds, never alone). The attempt
# number is the `attempt_id:N` tag, these rows' only tag (metaflow/task.py,
# batch_decorator.py). The task id alone is the group key (unique: one sequence), and internal
# steps (`_parameters`) are dropped per group, not per row. Over a wide window this is one scan
# of metadata_v3; over a narrow one `metadata_v3_akey` serves the join run by run.
ATTEMPTS_SQL = """
SELECT min(m.flow_id), min(m.run_number), min(m.step_name), m.task_id,
  COALESCE(max(m.task_name), m.task_id::text),
  COALESCE(CASE WHEN m.tags->>0 LIKE 'attempt_id:%%' THEN substr(m.tags->>0, 12)::int END, 0),
  to_timestamp(min(m.ts_epoch) FILTER (WHERE m.field_name = 'attempt') / 1000.0),
  to_timestamp(max(m.ts_epoch) FILTER (WHERE m.field_name = 'attempt_ok') / 1000.0),
  (max(m.value) FILTER (WHERE m.field_name = 'attempt_ok'))::boolean,
  max(m.value) FILTER (WHERE m.field_name = 'ec2-instance-type')
FROM runs_v3 r
JOIN metadata_v3 m ON m.flow_id = r.flow_id AND m.run_number = r.run_number
WHERE r.ts_epoch >= %(since_ms)s {flow_filter}
  AND m.field_name IN ('attempt', 'attempt_ok', 'ec2-instance-type')
GROUP BY m.task_id, m.tags->>0
HAVING min(m.step_name) NOT LIKE '\\_%%'
"""

# The failed attempts' `_exception` artifacts, by primary key (name last).
EXCEPTION_SQL = """
SELECT a.flow_id, a.run_number, a.step_name, a.task_id, a.attempt_id, a.location, a.ds_type, a.sha
FROM artifact_v3 a JOIN unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[],
  %s::smallint[]) AS f(flow_id, run_number, step_name, task_id, attempt_id)
  USING (flow_id, run_number, step_name, task_id, attempt_id)
WHERE a.name = '_exception'
"""
