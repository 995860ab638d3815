from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from mlplatform.errors import PlatformError
from mlplatform.monitoring.evaluate import Condition, Observation, RuleResult, evaluate
from mlplatform.monitoring.metrics import GroupMetrics, Report
from mlplatform.monitoring.records import RunRecord, RunStatus
from mlplatform.monitoring.rules import DEFAULT_RULES, AlertRule, RulesFile

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LINK = "https://ui.internal/{flow}/{run_id}"


def rule(kind: str, **params: Any) -> AlertRule:
    return RulesFile.model_validate(
        {"version": 1, "rules": [{"name": "r", "kind": kind, **params}]}
    ).rules[0]


def run(
    run_id: str,
    status: RunStatus,
    started_min_ago: float,
    minutes: float | None = None,
    *,
    flow: str = "Train",
    project: str | None = "ads",
    **facts: Any,
) -> RunRecord:
    started = NOW - timedelta(minutes=started_min_ago)
    finished = started + timedelta(minutes=minutes) if minutes is not None else None
    return RunRecord(
        flow=flow, run_id=run_id, user="ana", status=status, started=started,
        finished=finished, project=project, **facts,
    )  # fmt: skip


def check(r: AlertRule, records: list[RunRecord] = (), **obs: Any) -> RuleResult:  # type: ignore[assignment]
    [result] = evaluate([r], Observation(now=NOW, records=records, **obs), daily_budget=None)
    return result


def by_key(result: RuleResult) -> dict[str, Condition]:
    return {c.dedup_key: c for c in result.conditions}


def metrics(key: str, cost: float = 0.0) -> GroupMetrics:
    return GroupMetrics(key, 0, 0, 0, 0, None, None, None, None, cost, 0.0)


def report(**fields: Any) -> Report:
    base = dict(since=NOW - timedelta(days=1), until=NOW, overall=metrics("all"))
    lists: dict[str, list[Any]] = dict(
        by_pipeline=[], by_user=[], by_team=[], by_day=[], durations=[]
    )
    return Report(**(base | lists | fields))  # type: ignore[arg-type]


def test_latest_failed_run_fires_with_flow_run_step_exception_and_link() -> None:
    records = [
        run("1", "completed", 120, 5),
        run("2", "failed", 60, 5, failing_step="train", exception_type="ValueError"),
        run("3", "running", 10),  # still running: not an outcome yet
        run("9", "completed", 30, 5, flow="Score"),
    ]
    result = check(rule("latest_run_failed"), records, link_template=LINK)
    assert not result.complete  # no new run of a pipeline is no news, not a recovery
    failing = by_key(result)["latest_run_failed:ads.Train"]
    assert failing.firing
    assert failing.summary == "ads.Train: latest run Train/2 failed at step train: ValueError"
    assert failing.details["flow"] == "Train" and failing.details["run"] == "Train/2"
    assert failing.details["failing_step"] == "train"
    assert failing.details["exception"] == "ValueError"
    assert failing.link == "https://ui.internal/Train/2"
    assert not by_key(result)["latest_run_failed:ads.Score"].firing


def test_next_completed_run_clears_and_crashed_run_fires() -> None:
    failed = run("2", "failed", 60, 5, failing_step="train", exception_type="ValueError")
    fixed = check(rule("latest_run_failed"), [failed, run("4", "completed", 20, 5)])
    assert [c.firing for c in fixed.conditions] == [False]
    assert fixed.conditions[0].summary == "ads.Train: latest run Train/4 completed"
    crashed = run("5", "failed", 15)  # lost its heartbeat: no finish time, step or exception
    again = check(rule("latest_run_failed"), [failed, run("4", "completed", 20, 5), crashed])
    assert again.conditions[0].firing
    assert "crashed or lost its heartbeat" in again.conditions[0].summary
    assert "failing_step" not in again.conditions[0].details


def test_latest_outcome_is_by_finish_time_and_filter_applies() -> None:
    long_failed = run("1", "failed", 100, 90, failing_step="end")  # finished 10 min ago
    short_ok = run("2", "completed", 50, 5)  # started later, finished 45 min ago
    assert check(rule("latest_run_failed"), [long_failed, short_ok]).conditions[0].firing
    other = check(rule("latest_run_failed", pipelines=["games.*"]), [long_failed, short_ok])
    assert other.conditions == ()


def test_success_rate_per_pipeline_and_overall() -> None:
    train = [run(str(i), "completed", 60 + i, 5) for i in range(18)]
    train += [run("f1", "failed", 30, 5, failing_step="train", exception_type="OOM")]
    train += [run("f2", "failed", 20, 5, failing_step="train", exception_type="OOM")]
    score = [run(f"s{i}", "completed", 60, 1, flow="Score") for i in range(4)]
    old = [run(f"o{i}", "failed", 60 * 30, 5, flow="Score") for i in range(9)]  # outside 24h
    live = [run("live", "running", 5, flow="Score")]
    result = check(rule("success_rate_below"), train + score + old + live, link_template=LINK)
    assert result.complete
    conditions = by_key(result)
    train_rate = conditions["success_rate_below:ads.Train"]
    assert train_rate.firing
    assert train_rate.summary == (
        "ads.Train: success rate 90.0% over 1d (18 of 20 finished runs completed), below 95%"
    )
    assert train_rate.details["failure_reasons"] == "train: OOM x2"
    assert train_rate.details["latest_failed_run"] == "Train/f2"
    assert train_rate.link == "https://ui.internal/Train/f2"
    score_rate = conditions["success_rate_below:ads.Score"]
    assert not score_rate.firing and "too few to judge (min_runs 5)" in score_rate.summary
    overall = conditions["success_rate_below:*"]
    assert overall.firing and overall.details["finished_runs"] == "24"  # 22/24: 91.7%
    assert check(rule("success_rate_below", threshold=0.9), train).conditions[0].firing is False


def test_success_rate_overall_only_fires_on_the_sum() -> None:
    runs = [run(str(i), "completed", 10, 1, flow=f"F{i}") for i in range(3)]
    runs += [run("x", "failed", 10, 1, flow="F0"), run("y", "failed", 10, 1, flow="F1")]
    result = check(rule("success_rate_below", per_pipeline=False, min_runs=5), runs)
    assert [(c.dedup_key, c.firing) for c in result.conditions] == [("success_rate_below:*", True)]


def test_run_longer_than_twice_p95_of_its_pipeline() -> None:
    history = [
        run(str(i), "completed", 600 + i, minutes) for i, minutes in enumerate(range(10, 15))
    ]
    # p95 of 10..14 min, linear between ranks: 13.8 min; the limit is 27.6 min
    slow, fine = run("slow", "running", 28), run("fine", "running", 27, flow="Train2")
    history2 = [run(f"b{i}", "completed", 600, 13.8, flow="Train2") for i in range(5)]
    young = run("new", "running", 500, flow="Fresh")  # its pipeline has no history: no verdict
    result = check(
        rule("run_longer_than_p95", dedup_key="slow:{pipeline}:{run_id}"),
        [*history, *history2, slow, fine, young],
        link_template=LINK,
    )
    assert result.complete  # a run that finished is absent: its incident clears
    conditions = by_key(result)
    assert set(conditions) == {"slow:ads.Train:slow", "slow:ads.Train2:fine"}
    over = conditions["slow:ads.Train:slow"]
    assert over.firing and over.details["p95_seconds"] == "828"
    assert "running for 28m, over 2 x p95 (13m48s over 5 finished runs)" in over.summary
    assert over.link == "https://ui.internal/Train/slow"
    assert not conditions["slow:ads.Train2:fine"].firing


def test_run_longer_needs_min_runs_of_recent_history() -> None:
    stale = [run(str(i), "completed", 60 * 24 * 8, 1) for i in range(10)]  # older than 7d
    recent = [run(f"r{i}", "completed", 100, 1) for i in range(4)]
    result = check(rule("run_longer_than_p95"), [*stale, *recent, run("x", "running", 60)])
    assert result.conditions == ()


def test_batch_queue_from_observation_or_report() -> None:
    queue = rule("batch_queue_above")
    assert check(queue, batch_queue_depth=50).conditions[0].firing is False
    over = check(queue, batch_queue_depth=51).conditions[0]
    assert over.firing and over.dedup_key == "batch_queue_above"
    assert over.summary == "AWS Batch queue holds 51 runnable jobs (over the limit of 50)"
    assert check(queue, report=report(batch_queue_depth=80)).conditions[0].firing
    assert check(queue).conditions == ()  # not measured: no news


def test_endpoint_unreachable_per_endpoint_and_only_when_checked() -> None:
    down = rule("endpoint_unreachable")
    error = {"metadata_service": "connection refused on :8080"}
    result = by_key(check(down, unreachable=error))
    service = result["endpoint_unreachable:metadata_service"]
    assert service.firing and service.details["error"] == "connection refused on :8080"
    assert service.summary.startswith("Metaflow metadata service is unreachable")
    assert not result["endpoint_unreachable:metadata_database"].firing
    only = check(down, unreachable=error, checked_endpoints=frozenset({"metadata_service"}))
    assert [c.dedup_key for c in only.conditions] == ["endpoint_unreachable:metadata_service"]


def test_daily_cost_over_budget_from_rule_settings_or_report() -> None:
    cost = rule("daily_cost_above")
    assert check(cost, daily_cost=500.0).conditions == ()  # no budget anywhere: no alert
    [result] = evaluate([cost], Observation(NOW, [], daily_cost=120.5), daily_budget=100.0)
    assert result.conditions[0].firing
    assert result.conditions[0].summary == (
        "compute cost on 2026-03-02 is $120.50, over the daily budget of $100.00"
    )
    days = [(date(2026, 3, 1), metrics("d1", 900.0)), (date(2026, 3, 2), metrics("d2", 40.0))]
    within = check(rule("daily_cost_above", budget=50), report=report(by_day=days))
    assert (
        within.conditions[0].firing is False and within.conditions[0].details["cost_usd"] == "40.00"
    )
    daily = check(rule("daily_cost_above", budget=10, dedup_key="cost:{date}"), daily_cost=11)
    assert daily.conditions[0].dedup_key == "cost:2026-03-02"


def test_conditions_sharing_a_key_merge_with_firing_winning() -> None:
    records = [run("1", "completed", 30, 5, flow="A"), run("2", "failed", 30, 5, flow="B")]
    result = check(rule("latest_run_failed", dedup_key="any-pipeline-failed"), records)
    assert [(c.dedup_key, c.firing) for c in result.conditions] == [("any-pipeline-failed", True)]
    assert result.conditions[0].details["flow"] == "B"


def test_bad_link_template_is_a_platform_error() -> None:
    with pytest.raises(PlatformError, match=r"run_link_template.*\{flow\}, \{run_id\}"):
        check(rule("latest_run_failed"), [run("1", "failed", 5, 1)], link_template="{host}/{x}")


def test_defaults_on_an_empty_platform_say_nothing() -> None:
    results = evaluate(DEFAULT_RULES, Observation(NOW, []))
    assert [r.rule.kind for r in results] == [r.kind for r in DEFAULT_RULES]
    assert all(
        not c.firing for r in results for c in r.conditions
    )  # only the endpoints, both reachable
