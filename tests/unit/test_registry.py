"""Registry rules without Metaflow: the tag scheme, who is champion, promotion decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlplatform.registry import store
from mlplatform.registry.events import (
    CHAMPION,
    MAX_EVENTS,
    MAX_TAG_LENGTH,
    Event,
    Record,
    current_champion,
    events_of,
    events_to_drop,
    next_time,
    parse_event,
    previous_champion,
    stale_champions,
)
from mlplatform.registry.policy import Decision, PromotionPolicy, RegistryError, decide

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def record(pathspec: str, *events: tuple[float, str], champion: bool = False) -> Record:
    tags = {"registered", "pipeline:p"} | {Event(at(s), a, "ann", "x").tag() for s, a in events}
    return Record(pathspec, frozenset(tags | ({CHAMPION} if champion else set())))


# --- event tags ---------------------------------------------------------------------------


def test_event_tag_round_trips_with_colons_in_detail() -> None:
    event = Event(T0, "promoted", "ann", "manual: roc_auc 0.81 beats F/1: better calibration")
    tag = event.tag()
    assert tag.startswith("registry:20260301T120000.123456Z:promoted:ann:")
    assert parse_event(tag) == event


def test_event_tag_stays_within_metaflow_limit() -> None:
    tag = Event(T0, "promoted", "ann", "why " * 400).tag()
    assert len(tag) == MAX_TAG_LENGTH
    parsed = parse_event(tag)
    assert parsed is not None and parsed.action == "promoted"


def test_user_with_colon_cannot_shift_the_fields() -> None:
    parsed = parse_event(Event(T0, "demoted", "dom:ann", "replaced").tag())
    assert parsed is not None and parsed.user == "dom_ann" and parsed.detail == "replaced"


@pytest.mark.parametrize(
    "tag",
    ["champion", "registry:soon:promoted:ann:x", "registry:20260301T120000.0Z:bribed:ann:x"],
)
def test_other_tags_are_not_events(tag: str) -> None:
    assert parse_event(tag) is None


def test_next_time_never_goes_back_behind_a_written_event() -> None:
    written = [Event(at(60), "promoted", "ann")]
    assert next_time(written, now=at(0)) == at(60) + timedelta(microseconds=1)
    assert next_time(written, now=at(120)) == at(120)


# --- who is champion ----------------------------------------------------------------------


def test_champion_is_the_champion_tagged_run_promoted_last() -> None:
    old = record("F/1", (0, "promoted"), champion=True)
    new = record("F/2", (10, "promoted"), champion=True)  # crash before `old` was untagged
    never = record("F/3", (20, "registered"))
    assert current_champion([old, new, never]) == new
    assert stale_champions([old, new, never]) == [old]


def test_a_newer_promotion_without_the_tag_does_not_count() -> None:
    """Promotion writes tag and event together; an untagged run was demoted since."""
    champ = record("F/1", (0, "promoted"), champion=True)
    demoted = record("F/2", (10, "promoted"), (20, "demoted"))
    assert current_champion([champ, demoted]) == champ


def test_champion_tags_from_before_events_lose_to_any_promotion() -> None:
    legacy = record("F/9", champion=True)
    promoted = record("F/2", (0, "promoted"), champion=True)
    assert current_champion([legacy, promoted]) == promoted
    assert current_champion([record("F/10", champion=True), legacy]).pathspec == "F/10"


def test_previous_champion_toggles_so_rollback_twice_returns() -> None:
    a = record("F/1", (0, "promoted"), (10, "demoted"))
    b = record("F/2", (10, "promoted"), champion=True)
    assert previous_champion([a, b]) == a
    # after a rollback: a restored at 20, b rolled back
    a2 = record("F/1", (0, "promoted"), (10, "demoted"), (20, "restored"), champion=True)
    b2 = record("F/2", (10, "promoted"), (20, "rolled-back"))
    assert current_champion([a2, b2]) == a2
    assert previous_champion([a2, b2]) == b2


def test_no_previous_champion_for_the_first_one() -> None:
    assert previous_champion([record("F/1", (0, "promoted"), champion=True)]) is None
    assert previous_champion([record("F/1", (0, "registered"))]) is None


def test_pruning_keeps_the_last_promotion_and_the_registration() -> None:
    events = [Event(at(0), "registered", "ann"), Event(at(1), "promoted", "ann")]
    events += [Event(at(2 + i), "demoted" if i % 2 else "restored", "ann") for i in range(48)]
    last_promotion = max(e for e in events if e.action in {"promoted", "restored"})
    dropped = events_to_drop(events, adding=2)
    assert len(events) - len(dropped) + 2 == MAX_EVENTS
    assert last_promotion not in dropped and events[0] not in dropped
    assert dropped == sorted(dropped) and dropped[0] == events[1]  # oldest go first
    assert events_to_drop(events[:5], adding=1) == []


class FakeRun:
    """The part of a Metaflow Run that `store.write_tags` uses."""

    def __init__(self, tags: set[str]) -> None:
        self.user_tags = frozenset(tags)
        self.tags = self.user_tags
        self.calls: list[tuple[list[str], list[str]]] = []

    def replace_tags(self, remove: list[str], add: list[str]) -> None:
        self.calls.append((remove, add))
        self.user_tags = self.tags = (self.user_tags - set(remove)) | set(add)


def test_write_tags_keeps_a_run_under_metaflows_tag_limit() -> None:
    tags = {Event(at(i), "demoted" if i % 2 else "restored", "ann").tag() for i in range(60)}
    run = FakeRun(tags | {"registered", "pipeline:p", CHAMPION})
    store.write_tags(run, [Event(at(100), "promoted", "bob").tag()])
    assert len(run.calls) == 1  # one atomic change
    assert len(events_of(run.tags)) == MAX_EVENTS
    assert events_of(run.tags)[-1].user == "bob"
    assert len(run.tags) <= 50


# --- promotion rules ----------------------------------------------------------------------

AUC = PromotionPolicy("roc_auc", higher_is_better=True, margin=0.005)
LOSS = PromotionPolicy("log_loss", higher_is_better=False, margin=0.01)


def test_first_model_that_passes_or_has_no_gate_is_champion() -> None:
    for gate in (True, None):
        decision = decide({"roc_auc": 0.6}, AUC, gate, None, None)
        assert decision == Decision(True, decision.reason, None)
        assert "first model" in decision.reason


def test_gate_failed_is_never_champion_even_when_best() -> None:
    assert not decide({"roc_auc": 0.99}, AUC, False, None, None).champion
    decision = decide({"roc_auc": 0.99}, AUC, False, "F/1", 0.5)
    assert not decision.champion and "gate" in decision.reason
    assert decision.previous_champion == "F/1"


def test_challenger_must_beat_champion_by_the_margin() -> None:
    win = decide({"roc_auc": 0.7912}, AUC, True, "F/12", 0.7801)
    assert win.champion
    assert win.reason == ("roc_auc 0.7912 beats champion F/12 (0.7801) by 0.0111 >= margin 0.005")
    short = decide({"roc_auc": 0.7840}, AUC, True, "F/12", 0.7801)
    assert not short.champion and "by 0.0039 < margin 0.005" in short.reason
    worse = decide({"roc_auc": 0.70}, AUC, None, "F/12", 0.7801)
    assert not worse.champion and "does not beat" in worse.reason


def test_exactly_the_margin_is_enough_despite_float_rounding() -> None:
    policy = PromotionPolicy("roc_auc", margin=0.1)
    assert 0.3 - 0.2 < 0.1  # the binary fraction falls short
    assert decide({"roc_auc": 0.3}, policy, True, "F/1", 0.2).champion


def test_equal_is_not_better_even_with_zero_margin() -> None:
    policy = PromotionPolicy("roc_auc", margin=0.0)
    assert not decide({"roc_auc": 0.8}, policy, True, "F/1", 0.8).champion
    assert decide({"roc_auc": 0.8001}, policy, True, "F/1", 0.8).champion


def test_lower_is_better_metrics_improve_downwards() -> None:
    assert decide({"log_loss": 0.40}, LOSS, True, "F/1", 0.42).champion
    assert not decide({"log_loss": 0.415}, LOSS, True, "F/1", 0.42).champion
    assert not decide({"log_loss": 0.50}, LOSS, True, "F/1", 0.42).champion
    assert PromotionPolicy.for_metric("log_loss") == PromotionPolicy("log_loss", False, 0.0)
    assert PromotionPolicy.for_metric("roc_auc", 0.01).higher_is_better


def test_champion_without_the_metric_keeps_its_place() -> None:
    decision = decide({"roc_auc": 0.9}, AUC, True, "F/1", None)
    assert not decision.champion and "promote it explicitly" in decision.reason


def test_a_policy_on_a_metric_the_run_lacks_is_refused() -> None:
    with pytest.raises(RegistryError, match="has no metric 'roc_auc'"):
        decide({"log_loss": 0.3}, AUC, True, "F/1", 0.7)


@pytest.mark.parametrize("margin", [-0.01, float("nan")])
def test_margin_must_be_non_negative(margin: float) -> None:
    with pytest.raises(ValueError, match="margin"):
        PromotionPolicy("roc_auc", margin=margin)
