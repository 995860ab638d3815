import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlplatform.errors import PlatformError
from mlplatform.monitoring import rule_state
from mlplatform.monitoring.evaluate import Condition, Observation, RuleResult, evaluate
from mlplatform.monitoring.records import Alert, RunRecord
from mlplatform.monitoring.rule_state import RuleState, alert_id, default_state_path
from mlplatform.monitoring.rules import DEFAULT_RULES, AlertRule, RulesFile
from mlplatform.settings import Settings, home

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = "batch_queue_above"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def queue_rule(**params: Any) -> AlertRule:
    body = {"name": "queue", "kind": "batch_queue_above", "severity": "critical", **params}
    return RulesFile.model_validate({"version": 1, "rules": [body]}).rules[0]


def result(rule: AlertRule, firing: bool | None, complete: bool = False) -> list[RuleResult]:
    """One rule with one condition (None: the rule produced no condition for KEY)."""
    conditions = () if firing is None else (Condition(KEY, firing, f"firing={firing}"),)
    return [RuleResult(rule, conditions, complete)]


@pytest.fixture
def state(tmp_path: Path) -> RuleState:
    return RuleState(tmp_path / "alerts.sqlite")


def sent(state: RuleState, results: list[RuleResult], now: datetime) -> list[Alert]:
    """One check as `monitor check` runs it: step, hand over, mark sent."""
    return state.dispatch(results, now, deliver=lambda alerts: None)


def test_for_needs_the_condition_to_hold_on_every_check(state: RuleState) -> None:
    rule = queue_rule(**{"for": "10m"})
    assert sent(state, result(rule, True), minutes(0)) == []
    assert sent(state, result(rule, True), minutes(5)) == []
    assert sent(state, result(rule, False), minutes(7)) == []  # broke the streak: silent
    assert sent(state, result(rule, True), minutes(8)) == []
    assert sent(state, result(rule, True), minutes(17)) == []
    [trigger] = sent(state, result(rule, True), minutes(18))
    assert (trigger.state, trigger.dedup_key, trigger.rule) == ("trigger", KEY, "queue")
    assert trigger.severity == "critical" and trigger.created == minutes(18)
    assert trigger.details["incident_started"] == minutes(18).isoformat(timespec="microseconds")


def test_one_trigger_while_firing_then_exactly_one_resolve(state: RuleState) -> None:
    rule = queue_rule()
    [trigger] = sent(state, result(rule, True), minutes(0))
    assert trigger.id == alert_id(KEY, "trigger", minutes(0))
    assert sent(state, result(rule, True), minutes(5)) == []
    [resolve] = sent(state, result(rule, False), minutes(10))
    assert (resolve.state, resolve.dedup_key, resolve.severity) == ("resolve", KEY, "critical")
    assert resolve.id == alert_id(KEY, "resolve", minutes(0))  # paired by incident start
    assert resolve.summary == "firing=False"
    assert sent(state, result(rule, False), minutes(15)) == []


def test_cooldown_counts_from_the_last_trigger(state: RuleState) -> None:
    rule = queue_rule(cooldown="1h")
    [first] = sent(state, result(rule, True), minutes(0))
    assert [a.state for a in sent(state, result(rule, False), minutes(5))] == ["resolve"]
    assert sent(state, result(rule, True), minutes(10)) == []  # within the hour: held back
    assert sent(state, result(rule, True), minutes(59)) == []
    [second] = sent(state, result(rule, True), minutes(60))  # still firing once it has passed
    assert second.state == "trigger" and second.id != first.id
    assert second.id == alert_id(KEY, "trigger", minutes(60))


def test_return_within_cooldown_that_clears_sends_nothing(state: RuleState) -> None:
    rule = queue_rule(cooldown="1h")
    sent(state, result(rule, True), minutes(0))
    sent(state, result(rule, False), minutes(5))
    assert sent(state, result(rule, True), minutes(10)) == []
    assert sent(state, result(rule, False), minutes(20)) == []  # no trigger, so no resolve
    assert [i.status for i in state.incidents()] == ["idle"]
    [late] = sent(state, result(rule, True), minutes(70))
    assert late.state == "trigger"


def test_no_news_keeps_an_incident_unless_the_rule_is_complete(state: RuleState) -> None:
    rule = queue_rule()
    sent(state, result(rule, True), minutes(0))
    assert sent(state, result(rule, None), minutes(5)) == []
    assert [i.status for i in state.incidents()] == ["open"]
    [resolve] = sent(state, result(rule, None, complete=True), minutes(10))
    assert resolve.state == "resolve" and resolve.summary == "cleared: firing=True"


def test_rerunning_the_same_check_emits_nothing_new(state: RuleState) -> None:
    rule = queue_rule()
    first = state.step(result(rule, True), minutes(0))
    again = state.step(result(rule, True), minutes(0))  # e.g. crashed before the hand-over
    assert [a.id for a in again] == [a.id for a in first] and len(first) == 1
    assert again == first
    state.mark_sent(a.id for a in again)
    assert state.step(result(rule, True), minutes(0)) == []
    assert state.step(result(rule, True), minutes(1)) == []


def test_failed_delivery_is_handed_over_again_with_the_same_id(state: RuleState) -> None:
    rule = queue_rule()

    def outbox_down(alerts: list[Alert]) -> None:
        raise ConnectionError("outbox unavailable")

    with pytest.raises(ConnectionError):
        state.dispatch(result(rule, True), minutes(0), deliver=outbox_down)
    delivered: list[Alert] = []
    state.dispatch(result(rule, False), minutes(5), deliver=delivered.extend)
    assert [(a.state, a.id) for a in delivered] == [
        ("trigger", alert_id(KEY, "trigger", minutes(0))),
        ("resolve", alert_id(KEY, "resolve", minutes(0))),
    ]
    assert sent(state, result(rule, False), minutes(6)) == []


def test_crash_inside_a_step_leaves_the_state_as_it_was(
    state: RuleState, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = queue_rule()

    def crash(*args: Any) -> None:
        raise RuntimeError("killed between the state update and queueing the alert")

    monkeypatch.setattr(rule_state, "_emit", crash)
    with pytest.raises(RuntimeError):
        state.step(result(rule, True), minutes(0))
    monkeypatch.undo()
    assert state.incidents() == []
    [trigger] = sent(state, result(rule, True), minutes(1))
    assert trigger.id == alert_id(KEY, "trigger", minutes(1))


def test_state_survives_process_restarts(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    script = textwrap.dedent(
        """
        import json, sys
        from datetime import datetime
        from mlplatform.monitoring.evaluate import Condition, RuleResult
        from mlplatform.monitoring.rule_state import RuleState
        from mlplatform.monitoring.rules import RulesFile
        path, now, firing = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3] == "1"
        rule = RulesFile.model_validate({"version": 1, "rules": [
            {"name": "queue", "kind": "batch_queue_above", "for": "5m"}]}).rules[0]
        condition = Condition("batch_queue_above", firing, "queue")
        alerts = RuleState(path).dispatch([RuleResult(rule, (condition,), False)], now, print)
        print(json.dumps([[a.state, a.id] for a in alerts]))
        """
    )

    def check(at: datetime, firing: bool) -> list[list[str]]:
        args = [sys.executable, "-c", script, str(path), at.isoformat(), "1" if firing else "0"]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    assert check(minutes(0), True) == []
    assert check(minutes(5), True) == [["trigger", alert_id(KEY, "trigger", minutes(5))]]
    assert check(minutes(7), False) == [["resolve", alert_id(KEY, "resolve", minutes(5))]]


def test_a_failing_run_then_its_fix_with_the_default_rules(state: RuleState) -> None:
    def observe(now: datetime, *records: RunRecord) -> list[RuleResult]:
        observation = Observation(now, list(records), link_template="https://ui/{flow}/{run_id}")
        return evaluate(DEFAULT_RULES, observation)

    failed = RunRecord(
        flow="Train", run_id="7", user="ana", status="failed", started=minutes(-3),
        finished=minutes(-1), project="ads", failing_step="train", exception_type="KeyError",
    )  # fmt: skip
    [trigger] = sent(state, observe(minutes(0), failed), minutes(0))
    assert (trigger.state, trigger.dedup_key, trigger.severity) == (
        "trigger",
        "latest_run_failed:ads.Train",
        "critical",
    )
    assert trigger.details["run"] == "Train/7" and trigger.details["failing_step"] == "train"
    assert trigger.link == "https://ui/Train/7"
    fixed = RunRecord(
        flow="Train", run_id="8", user="ana", status="completed", started=minutes(1),
        finished=minutes(4), project="ads",
    )  # fmt: skip
    [resolve] = sent(state, observe(minutes(5), failed, fixed), minutes(5))
    assert (resolve.state, resolve.dedup_key) == ("resolve", trigger.dedup_key)
    assert resolve.details["run"] == "Train/8"


def test_rules_sharing_a_key_make_one_incident(state: RuleState) -> None:
    quiet, loud = queue_rule(), queue_rule(severity="warning")
    results = [*result(quiet, False), *result(loud, True)]
    [trigger] = sent(state, results, minutes(0))
    assert trigger.severity == "warning"


def test_shares_the_file_with_the_outbox_and_prunes_idle_keys(state: RuleState) -> None:
    with sqlite3.connect(state.path) as db:
        db.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY)")
        db.execute("INSERT INTO outbox VALUES ('x')")
    sent(state, result(queue_rule(), True), minutes(0))
    sent(state, result(queue_rule(), False), minutes(1))
    assert len(state.incidents()) == 1
    sent(state, [], minutes(60 * 24 * 9))
    assert state.incidents() == []
    with sqlite3.connect(state.path) as db:
        assert db.execute("SELECT id FROM outbox").fetchall() == [("x",)]


def test_state_path_from_settings_and_unusable_path(tmp_path: Path) -> None:
    assert default_state_path(Settings()) == home() / "monitoring" / "alerts.sqlite"
    custom = Settings(alerts={"state_db": str(tmp_path / "s.sqlite")})
    assert RuleState.from_settings(custom).path == tmp_path / "s.sqlite"
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(PlatformError, match=r"alerts\.state_db"):
        RuleState(tmp_path / "file" / "alerts.sqlite").step([], minutes(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        RuleState(tmp_path / "ok.sqlite").step([], datetime(2026, 1, 1))
