from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlplatform.errors import PlatformError
from mlplatform.monitoring.records import RunRecord
from mlplatform.monitoring.rules import (
    DEFAULT_RULES,
    EXAMPLE_RULES_FILE,
    BatchQueueAboveRule,
    DailyCostAboveRule,
    EndpointUnreachableRule,
    LatestRunFailedRule,
    RunLongerThanP95Rule,
    SuccessRateBelowRule,
    configured_rules,
    format_duration,
    load_rules,
    lookback,
    parse_duration,
)
from mlplatform.settings import Settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_defaults_are_the_briefs_rules() -> None:
    by_kind = {rule.kind: rule for rule in DEFAULT_RULES}
    assert len(DEFAULT_RULES) == len(by_kind) == 6
    failed = by_kind["latest_run_failed"]
    assert isinstance(failed, LatestRunFailedRule)
    assert failed.for_ == timedelta(0) and failed.severity == "critical"
    assert failed.key(pipeline="ads.Train", flow="Train", project="ads") == (
        "latest_run_failed:ads.Train"
    )
    rate = by_kind["success_rate_below"]
    assert isinstance(rate, SuccessRateBelowRule)
    assert (rate.threshold, rate.window) == (0.95, timedelta(hours=24))
    queue = by_kind["batch_queue_above"]
    assert isinstance(queue, BatchQueueAboveRule) and queue.threshold == 50
    down = by_kind["endpoint_unreachable"]
    assert isinstance(down, EndpointUnreachableRule)
    assert down.endpoints == ["metadata_service", "metadata_database"]
    slow = by_kind["run_longer_than_p95"]
    assert isinstance(slow, RunLongerThanP95Rule) and slow.multiplier == 2.0
    cost = by_kind["daily_cost_above"]
    assert isinstance(cost, DailyCostAboveRule) and cost.budget is None


def test_packaged_example_equals_the_defaults() -> None:
    assert load_rules(EXAMPLE_RULES_FILE) == list(DEFAULT_RULES)


def test_custom_file_with_durations_filter_and_template(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\nrules:\n"
        "  - name: ads-failed\n    kind: latest_run_failed\n    severity: warning\n"
        "    for: 1h30m\n    cooldown: 2h\n    pipelines: ['ads.*']\n"
        "    dedup_key: 'ads:{flow}'\n",
    )
    [rule] = load_rules(path)
    assert isinstance(rule, LatestRunFailedRule)
    assert (rule.for_, rule.cooldown) == (timedelta(minutes=90), timedelta(hours=2))
    started = datetime(2026, 1, 1, tzinfo=UTC)
    ads = RunRecord(flow="Train", run_id="1", user=None, status="failed", started=started)
    assert rule.watches(RunRecord(**{**ads.__dict__, "project": "ads"}))
    assert not rule.watches(RunRecord(**{**ads.__dict__, "project": "games"}))
    assert rule.key(pipeline="ads.Train", flow="Train", project="ads") == "ads:Train"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        # each case: the rule body after `rules:`, and the `file:line: field` it must name
        ("  - name: a\n    kind: latest_run_failed\n    severity: loud\n", ":5: rules.0.severity"),
        ("  - name: a\n    kind: latest_run_failed\n    treshold: 3\n", ":5: rules.0.treshold"),
        ("  - name: a\n    kind: disk_full\n", ":4: rules.0.kind"),
        ("  - name: a\n    kind: batch_queue_above\n    for: 10 minutes\n", ":5: rules.0.for"),
        ("  - name: a\n    kind: batch_queue_above\n    threshold: -1\n", ":5: rules.0.threshold"),
        ("  - name: a\n    kind: batch_queue_above\n    cooldown: 30d\n", ":5: rules.0.cooldown"),
        ("  - name: a\n    kind: batch_queue_above\n    pipelines: [x]\n", ":5: rules.0.pipelines"),
        ("  - name: A b\n    kind: batch_queue_above\n", ":3: rules.0.name"),
        ("  - kind: batch_queue_above\n", ":3: rules.0.name"),
        ("  - name: a\n    severity: info\n", ":3: rules.0.kind"),
    ],
)
def test_mistakes_name_file_line_and_field(tmp_path: Path, body: str, where: str) -> None:
    path = _write(tmp_path, "version: 1\nrules:\n" + body)
    with pytest.raises(PlatformError) as caught:
        load_rules(path)
    assert caught.value.headline.startswith(f"{path}{where}:"), caught.value.headline
    assert "rules.example.yaml" in caught.value.hint


def test_unknown_placeholder_lists_the_known_ones(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\nrules:\n  - name: q\n    kind: batch_queue_above\n    dedup_key: 'q:{pipeline}'\n",
    )
    with pytest.raises(PlatformError, match=r":3: rules\.0: .*\{pipeline\}.*\{kind\}, \{rule\}"):
        load_rules(path)


def test_rule_names_must_be_unique_and_version_present(tmp_path: Path) -> None:
    twice = "  - {name: a, kind: batch_queue_above}\n  - {name: a, kind: daily_cost_above}\n"
    with pytest.raises(PlatformError, match="'a' is used twice"):
        load_rules(_write(tmp_path, "version: 1\nrules:\n" + twice))
    with pytest.raises(PlatformError, match=r"rules.yaml:1: version: Field required"):
        load_rules(_write(tmp_path, "rules: []\n"))
    with pytest.raises(PlatformError, match=r"rules.yaml:1: version: Input should be 1"):
        load_rules(_write(tmp_path, "version: 2\nrules: []\n"))


def test_success_rate_needs_a_scope(tmp_path: Path) -> None:
    body = "  - {name: s, kind: success_rate_below, per_pipeline: false, overall: false}\n"
    with pytest.raises(PlatformError, match=r":3: rules\.0: per_pipeline and overall"):
        load_rules(_write(tmp_path, "version: 1\nrules:\n" + body))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match=r"rules.yaml:2: mapping values are not allowed"):
        load_rules(_write(tmp_path, "version: 1\nrules: a: b\n"))


def test_configured_rules_reads_the_settings_file(tmp_path: Path) -> None:
    assert configured_rules(Settings()) == list(DEFAULT_RULES)
    path = _write(tmp_path, "version: 1\nrules:\n  - {name: q, kind: batch_queue_above}\n")
    [rule] = configured_rules(Settings(alerts={"rules_file": str(path)}))
    assert rule.name == "q"


def test_durations_round_trip_and_reject_nonsense() -> None:
    for text in ("0s", "45s", "10m", "1h30m", "1d", "7d"):
        assert format_duration(parse_duration(text)) == text
    assert parse_duration("24h") == timedelta(days=1)
    for bad in ("", "10", "1.5h", "m", 10):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_lookback_covers_the_longest_window() -> None:
    assert lookback(list(DEFAULT_RULES)) == timedelta(days=7)
    rate = SuccessRateBelowRule.model_validate(
        {"name": "s", "kind": "success_rate_below", "window": "30d"}
    )
    assert lookback([rate]) == timedelta(days=30)
    assert lookback([]) == timedelta(days=1)
