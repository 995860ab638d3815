"""Report numbers from run records: percentiles, success rate, failure reasons, cost, windows."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlplatform.errors import PlatformError, SettingsError
from mlplatform.monitoring.cost import (
    NO_INSTANCE_TYPE,
    PriceTable,
    summarize_cost,
    task_cost,
)
from mlplatform.monitoring.records import RunRecord, RunStatus, TaskRecord
from mlplatform.monitoring.report_data import build_report, group_metrics
from mlplatform.settings import MonitoringSettings, get_settings

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PRICES = PriceTable({"m5.large": 0.096, "c5.xlarge": 0.17})


def run(
    status: RunStatus = "completed",
    seconds: float | None = 60.0,
    *,
    started: datetime = T0,
    flow: str = "TrainFlow",
    run_id: str = "1",
    project: str | None = None,
    user: str | None = "alice",
    team: str | None = None,
    failing_step: str | None = None,
    exception_type: str | None = None,
    tasks: tuple[TaskRecord, ...] = (),
) -> RunRecord:
    finished = None if seconds is None else started + timedelta(seconds=seconds)
    return RunRecord(
        flow=flow,
        run_id=run_id,
        user=user,
        status=status,
        started=started,
        finished=finished,
        project=project,
        team=team,
        failing_step=failing_step,
        exception_type=exception_type,
        tasks=tasks,
    )


def task(
    seconds: float | None,
    instance_type: str | None = None,
    cpu_seconds: float | None = None,
    queue_wait: float | None = None,
) -> TaskRecord:
    finished = None if seconds is None else T0 + timedelta(seconds=seconds)
    return TaskRecord("train", "1", T0, finished, 0, instance_type, queue_wait, cpu_seconds)


def report(records: list[RunRecord], **kwargs: object):
    return build_report(records, T0 - timedelta(days=1), T0 + timedelta(days=1), PRICES, **kwargs)


def test_duration_percentiles_cover_finished_runs_only() -> None:
    runs = [run(seconds=float(s)) for s in range(10, 101, 10)]
    runs.append(run("running", None))
    overall = report(runs).overall
    assert overall.p50_seconds == pytest.approx(55.0)
    assert overall.p95_seconds == pytest.approx(95.5)  # linear interpolation, numpy's default
    assert overall.running == 1 and overall.runs == 11


def test_success_rate_is_none_until_a_run_finishes() -> None:
    assert report([run("running", None)]).overall.success_rate is None
    assert report([]).overall.success_rate is None
    finished = [run(), run(), run(), run("failed", failing_step="a", exception_type="E")]
    assert report([*finished, run("running", None)]).overall.success_rate == 0.75


def test_failure_reasons_name_step_and_exception_most_common_first() -> None:
    runs = [
        run("failed", failing_step="train", exception_type="MemoryError"),
        run("failed", failing_step="work", exception_type="ValueError"),
        run("failed", failing_step="work", exception_type="ValueError"),
        run("failed", failing_step="work"),  # crashed: no exception stored
        run("failed", None),  # crashed before any task
        run(),
    ]
    reasons = report(runs).overall.failure_reasons
    assert reasons == {
        "work: ValueError": 2,
        "train: MemoryError": 1,
        "work: unknown": 1,
        "unknown: unknown": 1,
    }
    assert next(iter(reasons)) == "work: ValueError"


def test_cost_of_known_instance_types_is_price_times_duration() -> None:
    hour_m5 = task(3600, "m5.large")
    half_hour_c5 = task(1800, "C5.XLarge ")  # as recorded, whatever the case
    assert task_cost(hour_m5, PRICES, 0.0) == pytest.approx(0.096)
    assert task_cost(half_hour_c5, PRICES, 0.0) == pytest.approx(0.085)
    group = report([run(tasks=(hour_m5, half_hour_c5))]).overall
    assert group.cost_usd == pytest.approx(0.181)
    assert group.cpu_seconds == 0


def test_unpriced_instance_types_are_counted_and_logged_not_silent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = (task(3600, "x9.mega"), task(3600, "x9.mega"), task(60), task(3600, "m5.large"))
    summary = summarize_cost(tasks, PRICES, 0.0)
    assert summary.usd == pytest.approx(0.096)
    assert summary.unpriced == {NO_INSTANCE_TYPE: 1, "x9.mega": 2}
    with caplog.at_level(logging.WARNING):
        group = report([run(tasks=tasks)]).overall
    assert group.cost_usd == pytest.approx(0.096)
    assert "3 task attempts" in caplog.text and "x9.mega x2" in caplog.text


def test_local_tasks_cost_cpu_seconds_at_the_configured_price() -> None:
    local = (task(100, cpu_seconds=100.0), task(50, cpu_seconds=50.0))
    free = report([run(tasks=local)]).overall
    assert free.cost_usd == 0 and free.cpu_seconds == 150  # reported even when free
    priced = report([run(tasks=local)], cpu_second_price=0.001).overall
    assert priced.cost_usd == pytest.approx(0.15)
    assert summarize_cost(local, PRICES, 0.001).unpriced == {}


def test_an_unfinished_attempt_costs_nothing_yet_and_is_not_unpriced() -> None:
    open_attempt = task(None, "x9.mega")
    assert task_cost(open_attempt, PRICES, 1.0) == 0
    assert summarize_cost([open_attempt], PRICES, 1.0).unpriced == {}


def test_window_is_half_open_and_days_are_utc_oldest_first_with_gaps() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    until = datetime(2026, 1, 4, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    runs = [
        run(started=datetime(2025, 12, 31, 23, 59, tzinfo=UTC), run_id="before"),
        run(started=datetime(2026, 1, 2, 1, 0, tzinfo=plus_two), run_id="jan1-utc"),
        run("failed", started=datetime(2026, 1, 3, 0, 10, tzinfo=UTC), run_id="jan3"),
        run(started=until, run_id="at-until"),
    ]
    rep = build_report(runs, since, until, PRICES)
    assert rep.overall.runs == 2
    assert [(d, g.runs) for d, g in rep.by_day] == [
        (date(2026, 1, 1), 1),
        (date(2026, 1, 2), 0),
        (date(2026, 1, 3), 1),
    ]
    assert rep.by_day[1][1].success_rate is None
    assert rep.by_day[2][1].success_rate == 0.0
    assert rep.since == since and rep.until == until


def test_groups_by_pipeline_user_and_team() -> None:
    runs = [
        run(project="ads", flow="TrainFlow", user="alice", team="growth"),
        run("failed", flow="TrainFlow", user="bob", failing_step="s", exception_type="E"),
        run(flow="ScoreFlow", user=None),
    ]
    rep = report(runs)
    assert [(g.key, g.runs) for g in rep.by_pipeline] == [
        ("ScoreFlow", 1),
        ("TrainFlow", 1),
        ("ads.TrainFlow", 1),
    ]
    assert [g.key for g in rep.by_user] == ["(unknown)", "alice", "bob"]
    assert {g.key: g.runs for g in rep.by_team} == {"(no team)": 2, "growth": 1}


def test_queue_wait_median_counts_tasks_that_waited() -> None:
    tasks = (task(10, queue_wait=30.0), task(10, queue_wait=90.0), task(10, queue_wait=60.0))
    assert report([run(tasks=tasks)]).overall.queue_wait_p50_seconds == 60.0
    assert report([run(tasks=(task(10),))]).overall.queue_wait_p50_seconds is None


def test_durations_list_finished_runs_oldest_first_and_queue_depth_passes_through() -> None:
    runs = [
        run(seconds=30, started=T0 + timedelta(hours=1), project="ads"),
        run(seconds=10),
        run("running", None),
    ]
    rep = report(runs, batch_queue_depth=4)
    assert rep.durations == [("TrainFlow", 10.0), ("ads.TrainFlow", 30.0)]
    assert rep.batch_queue_depth == 4
    assert group_metrics("x", [], PRICES).runs == 0


def test_price_table_builtin_covers_batch_families() -> None:
    table = PriceTable.load(MonitoringSettings())
    for name in ("c5.large", "m5.4xlarge", "r5.xlarge", "c6i.2xlarge", "m6i.large"):
        assert table.hourly(name), name
    assert table.hourly("m5.large") == pytest.approx(0.096)
    assert table.hourly("x9.mega") is None


def test_price_file_merges_over_the_builtin_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("prices:\n  m5.large: 0.05\n  x9.mega: 9.5\n")
    monkeypatch.setenv("MLPLATFORM_MONITORING__PRICES_FILE", str(prices))
    get_settings.cache_clear()
    table = PriceTable.load()
    assert table.hourly("m5.large") == 0.05  # the deployment's own price wins
    assert table.hourly("x9.mega") == 9.5
    assert table.hourly("c5.large") == pytest.approx(0.085)  # the rest stays
    assert table.sources[-1] == str(prices)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("prices:\n  m5.large: cheap\n", "prices.m5.large: 'cheap' is not a price"),
        ("prices:\n  m5.large: -1\n", "prices.m5.large: -1 is not a price"),
        ("m5.large: 0.1\n", "no `prices:` mapping"),
    ],
)
def test_a_bad_price_file_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(text)
    with pytest.raises(SettingsError) as err:
        PriceTable.load(MonitoringSettings(prices_file=str(prices)))
    assert str(prices) in err.value.headline and fragment in err.value.headline
    assert "\n" not in err.value.one_line()


def test_a_missing_price_file_is_a_platform_error(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="no such file"):
        PriceTable.load(MonitoringSettings(prices_file=str(tmp_path / "absent.yaml")))
