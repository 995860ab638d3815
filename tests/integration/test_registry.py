"""The model registry on real local Metaflow runs: promotion rules, promote/rollback, the CLI.

Eight runs of a three-step test flow (`flows/registry_flow.py`, a few seconds each, in two
lanes in parallel) build the history every test starts from; each test gets the tags back as
they were, so promote/rollback tests do not leak into each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlplatform import registry
from mlplatform.errors import NotFoundError
from mlplatform.registry import actions
from tests.conftest import assert_one_line_error, metaflow_env, run_cli

pytestmark = pytest.mark.slow

FLOW = Path(__file__).parent / "flows" / "registry_flow.py"
FLOWS = ["RegistryTestFlow"]
AUC = "tests.registry"  # roc_auc, higher is better, margin 0.01
LOSS = "tests.loss"  # log_loss, lower is better, margin 0.02
SINGLE = "tests.single"  # one model, so nothing to roll back to


@dataclass
class History:
    workdir: Path
    runs: dict[str, str]  # name -> pathspec

    def __getitem__(self, name: str) -> str:
        return self.runs[name]


def _run_flow(workdir: Path, *args: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    id_file = workdir / f"run-id-{uuid.uuid4().hex}"
    proc = subprocess.run(
        [sys.executable, str(FLOW), "run", "--run-id-file", str(id_file), *args],
        cwd=workdir,
        env=metaflow_env(workdir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return f"RegistryTestFlow/{id_file.read_text().strip()}", proc


def _lane(workdir: Path, plan: list[tuple[str, list[str], bool]]) -> dict[str, str]:
    """Run flows one after the other: the registry's decisions depend on the order."""
    runs = {}
    for name, args, should_succeed in plan:
        pathspec, proc = _run_flow(workdir, *args)
        assert (proc.returncode == 0) == should_succeed, proc.stderr[-3000:]
        runs[name] = pathspec
    return runs


@contextmanager
def _client(workdir: Path) -> Iterator[None]:
    """Point this process's Metaflow client at the test datastore; put it back afterwards."""
    import metaflow
    from metaflow.plugins.datastores.local_storage import LocalStorage

    saved_root = LocalStorage.datastore_root
    with pytest.MonkeyPatch.context() as patch:
        # The client needs a user name even as root; it read METAFLOW_USER at import already.
        patch.setenv("USER", "tester")
        metaflow.metadata(f"local@{workdir}")
        try:
            yield
        finally:
            LocalStorage.datastore_root = saved_root
            metaflow.default_metadata()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    workdir = tmp_path_factory.mktemp("registry")
    auc = ["--pipeline", AUC, "--margin", "0.01"]
    loss = ["--pipeline", LOSS, "--metric", "log_loss", "--lower_is_better", "True"]
    loss += ["--margin", "0.02"]
    lane_auc = [
        ("first", [*auc, "--value", "0.80"], True),
        ("short", [*auc, "--value", "0.805"], True),  # better, but by less than the margin
        ("better", [*auc, "--value", "0.83", "--rows", "200"], True),
        ("single", ["--pipeline", SINGLE, "--value", "0.7"], True),
    ]
    lane_loss = [
        ("loss_first", [*loss, "--value", "0.40", "--gate", "pass"], True),
        ("gated", [*loss, "--value", "0.10", "--gate", "fail"], True),
        ("crashed", [*loss, "--value", "0.01", "--fail", "True"], False),
        ("loss_better", [*loss, "--value", "0.37", "--gate", "pass"], True),
    ]
    with ThreadPoolExecutor(2) as pool:
        lanes = [pool.submit(_lane, workdir, plan) for plan in (lane_auc, lane_loss)]
        runs = lanes[0].result() | lanes[1].result()
    with _client(workdir):
        yield History(workdir, runs)


@pytest.fixture(autouse=True)
def restore_tags(history: History) -> Iterator[None]:
    """Every test starts from the history the flows wrote, whatever the last one promoted."""
    from metaflow import Run

    before = {p: set(Run(p, _namespace_check=False).user_tags) for p in history.runs.values()}
    yield
    for pathspec, tags in before.items():
        run = Run(pathspec, _namespace_check=False)
        now = set(run.user_tags)
        if now != tags:
            run.replace_tags(sorted(now - tags), sorted(tags - now))


def _decision(pathspec: str) -> dict[str, Any]:
    from metaflow import Run

    return Run(pathspec, _namespace_check=False).data.decision


def _tags(pathspec: str) -> set[str]:
    from metaflow import Run

    return set(Run(pathspec, _namespace_check=False).tags)


def _actions(pathspec: str) -> list[tuple[str, str, str]]:
    return [(e.action, e.user, e.detail) for e in registry.get_model(pathspec, FLOWS).events]


def _champion(pipeline: str) -> str | None:
    version = registry.champion(pipeline, FLOWS)
    return version and version.pathspec


# --- promotion rules, decided inside the runs ---------------------------------------------


def test_first_model_becomes_champion(history: History) -> None:
    decision = _decision(history["first"])
    assert decision["champion"] and "first model" in decision["reason"]
    assert decision["previous_champion"] is None


def test_better_by_less_than_the_margin_stays_challenger(history: History) -> None:
    decision = _decision(history["short"])
    assert not decision["champion"]
    assert "beats champion" in decision["reason"] and "< margin 0.01" in decision["reason"]
    assert decision["previous_champion"] == history["first"]
    assert "champion" not in _tags(history["short"])


def test_better_by_the_margin_becomes_champion_and_demotes_the_old(history: History) -> None:
    decision = _decision(history["better"])
    assert decision["champion"] and decision["previous_champion"] == history["first"]
    assert decision["reason"].startswith(f"roc_auc 0.8300 beats champion {history['first']}")
    assert "champion" not in _tags(history["first"])
    assert _actions(history["first"])[-1][:2] == ("demoted", "tester")
    assert _champion(AUC) == history["better"]


def test_lower_is_better_metric(history: History) -> None:
    decision = _decision(history["loss_better"])
    assert decision["champion"]
    assert decision["reason"] == (
        f"log_loss 0.3700 beats champion {history['loss_first']} (0.4000) by 0.0300 >= margin 0.02"
    )
    assert _champion(LOSS) == history["loss_better"]


def test_gate_failed_is_registered_but_never_champion(history: History) -> None:
    decision = _decision(history["gated"])  # log_loss 0.10: far better, but failed the gate
    assert not decision["champion"] and "gate" in decision["reason"]
    assert decision["previous_champion"] == history["loss_first"]
    assert {"registered", "gate:failed", f"pipeline:{LOSS}"} <= _tags(history["gated"])
    assert "champion" not in _tags(history["gated"])
    assert registry.get_model(history["gated"], FLOWS).gate_passed is False


def test_run_failing_before_register_leaves_the_champion_untouched(history: History) -> None:
    assert not {"registered", "champion"} & _tags(history["crashed"])
    # The next run still met the champion from before the crash (log_loss 0.01 never counted).
    assert _decision(history["loss_better"])["previous_champion"] == history["loss_first"]
    listed = [v.pathspec for v in registry.list_models(LOSS, FLOWS)]
    assert history["crashed"] not in listed
    with pytest.raises(NotFoundError, match="not a registered model"):
        registry.get_model(history["crashed"], FLOWS)


# --- reading: lineage, refs, models ---------------------------------------------------------


def test_list_models_newest_first_with_one_champion(history: History) -> None:
    listed = registry.list_models(AUC, FLOWS)
    assert [v.pathspec for v in listed] == [history[n] for n in ("better", "short", "first")]
    assert [v.is_champion for v in listed] == [True, False, False]
    everything = registry.list_models(None, FLOWS)
    assert len(everything) == 7 and sum(v.is_champion for v in everything) == 3
    assert len(registry.list_models(None, FLOWS, limit=2)) == 2
    assert registry.list_models(AUC, ["NoSuchFlow"]) == []


def test_a_version_carries_its_lineage(history: History) -> None:
    version = registry.get_model(f"{AUC}@champion", FLOWS)
    assert version.pathspec == history["better"] and version.is_champion
    assert version.metrics == {"roc_auc": 0.83, "accuracy": 0.415}
    assert version.params == {"C": 1.0, "rows_seen": 200}
    assert version.rows == {"installs": {"rows_in": 200, "rows_valid": 199}}
    assert version.data_fingerprint == "sha256:200"
    assert version.user == "tester" and version.pipeline_id == AUC
    assert version.code_version == {"mlplatform": "test"}
    assert version.model_path and version.created_at is not None
    assert [e.action for e in version.events] == ["registered", "promoted"]
    bare = registry.get_model(history["better"].split("/")[1], FLOWS)
    assert bare.pathspec == version.pathspec


def test_load_model_returns_the_fitted_model(history: History) -> None:
    model = registry.load_model(registry.get_model(f"{AUC}@champion", FLOWS))
    assert list(model.predict([[0.0], [3.0]])) == [0, 1]


def test_unknown_refs_are_not_found(history: History) -> None:
    for ref in ("RegistryTestFlow/1", "999", "tests.nothing@champion"):
        with pytest.raises(NotFoundError):
            registry.get_model(ref, FLOWS)


def test_compare_shows_deltas_params_and_data(history: History) -> None:
    result = registry.compare(history["first"], history["better"], FLOWS)
    assert result.metrics["roc_auc"]["delta"] == pytest.approx(0.03)
    assert result.params == {"rows_seen": {"a": 100, "b": 200}}
    assert not result.same_data
    assert result.rows["installs.rows_in"] == {"a": 100, "b": 200}
    assert registry.compare(history["first"], history["short"], FLOWS).same_data


# --- explicit actions ---------------------------------------------------------------------


def test_promote_and_rollback_are_recorded_and_reversible(history: History) -> None:
    first, short, better = history["first"], history["short"], history["better"]
    decision = registry.promote(short, "ann", "calibration is better", FLOWS)
    assert decision.champion and decision.previous_champion == better
    assert _champion(AUC) == short
    assert _actions(short)[-1] == ("promoted", "ann", "manual: calibration is better")
    assert _actions(better)[-1][:2] == ("demoted", "ann")

    back = registry.rollback(AUC, "bob", FLOWS)
    assert back.previous_champion == short and _champion(AUC) == better
    assert _actions(better)[-1] == ("restored", "bob", f"rollback from {short}")
    assert _actions(short)[-1] == ("rolled-back", "bob", f"rolled back to {better}")

    registry.rollback(AUC, "bob", FLOWS)  # the second rollback undoes the first
    assert _champion(AUC) == short
    registry.rollback(AUC, "bob", FLOWS)
    assert _champion(AUC) == better
    assert sum(v.is_champion for v in registry.list_models(AUC, FLOWS)) == 1
    assert "champion" not in _tags(first)


def test_promote_refuses_gate_failed_and_unregistered_runs_unless_forced(
    history: History,
) -> None:
    with pytest.raises(registry.RegistryError, match="failed its promotion gate"):
        registry.promote(history["gated"], "ann", None, FLOWS)
    with pytest.raises(registry.RegistryError, match="not a registered model"):
        registry.promote(history["crashed"], "ann", None, FLOWS)
    assert _champion(LOSS) == history["loss_better"]
    forced = registry.promote(history["gated"], "ann", "hotfix", FLOWS, force=True)
    assert forced.champion and "(forced)" in forced.reason
    assert _champion(LOSS) == history["gated"]
    assert _actions(history["gated"])[-1] == ("promoted", "ann", "manual, forced: hotfix")


def test_promoting_the_champion_changes_nothing(history: History) -> None:
    before = _tags(history["better"])
    decision = registry.promote(history["better"], "ann", None, FLOWS)
    assert decision.champion and "already the champion" in decision.reason
    assert _tags(history["better"]) == before


def test_rollback_needs_a_previous_champion(history: History) -> None:
    with pytest.raises(registry.RegistryError, match="no previous champion"):
        registry.rollback(SINGLE, "ann", FLOWS)
    with pytest.raises(NotFoundError, match="no champion"):
        registry.rollback("tests.nothing", "ann", FLOWS)


def test_crash_between_tagging_new_and_untagging_old_champion(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    short, better = history["short"], history["better"]

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed between the two tag writes")

    with monkeypatch.context() as patch:
        patch.setattr(actions, "_settle", crash)
        with pytest.raises(RuntimeError):
            registry.promote(short, "ann", None, FLOWS)
    # Both carry the tag; the newest promotion decides, so every reader already agrees.
    assert "champion" in _tags(short) and "champion" in _tags(better)
    assert _champion(AUC) == short
    assert [v.pathspec for v in registry.list_models(AUC, FLOWS) if v.is_champion] == [short]
    assert not registry.get_model(better, FLOWS).is_champion
    # The next write repairs the stale tag, and says so.
    registry.promote(short, "ann", None, FLOWS)
    assert "champion" not in _tags(better)
    action, user, detail = _actions(better)[-1]
    assert (action, user) == ("demoted", "ann") and detail.startswith("repair")


# --- the CLI ------------------------------------------------------------------------------


def _cli(history: History, *args: str):
    return run_cli("models", *args, "--flow", "RegistryTestFlow", cwd=history.workdir)


def test_cli_list_show_compare(history: History) -> None:
    listed = _cli(history, "list", "--pipeline", AUC)
    assert listed.code == 0, listed.stderr
    row = next(ln for ln in listed.stdout.splitlines() if history["better"] in ln)
    assert "champion" in row and "0.8300" in row and "tester" in row
    shown = _cli(history, "show", f"{AUC}@champion", "--json")
    info = json.loads(shown.stdout)
    assert info["pathspec"] == history["better"] and info["is_champion"]
    assert [e["action"] for e in info["events"]] == ["registered", "promoted"]
    compared = _cli(history, "compare", history["first"], history["better"], "--json")
    assert json.loads(compared.stdout)["metrics"]["roc_auc"]["delta"] == pytest.approx(0.03)


def test_cli_promote_and_rollback(history: History) -> None:
    promoted = _cli(history, "promote", history["short"], "--reason", "fresher data", "--yes")
    assert promoted.code == 0, promoted.stderr
    assert f"{history['short']} promoted by tester" in promoted.stdout
    assert _champion(AUC) == history["short"]
    rolled = _cli(history, "rollback", AUC, "--yes")
    assert rolled.code == 0 and "rolled back" in rolled.stdout
    assert _champion(AUC) == history["better"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["show", "424242"], ["model '424242' not found", "mlplatform models list"]),
        (["promote", "RegistryTestFlow/1", "--yes"], ["not found"]),
        (["rollback", "tests.nothing", "--yes"], ["has no champion"]),
        (["rollback", SINGLE, "--yes"], ["no previous champion", "models promote"]),
        (["compare", "tests.nothing@champion", "1"], ["has no champion"]),
    ],
)
def test_cli_errors_are_one_line(history: History, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(_cli(history, *args), *fragments)


def test_cli_refuses_a_gate_failed_promotion(history: History) -> None:
    result = _cli(history, "promote", history["gated"], "--yes")
    assert_one_line_error(result, "failed its promotion gate", "--force")
    assert _champion(LOSS) == history["loss_better"]
