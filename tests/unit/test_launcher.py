"""Launcher pieces that need no Metaflow run: the command line, progress, failure parsing."""

from pathlib import Path

from mlplatform.pipelines.launcher import Progress, _update, failure_from_log, metaflow_command

FAILED_LOG = """\
$ python classification.py --config pipeline spec.yaml run
2026-11-27 04:38:13.643 Workflow starting (run-id 1795):
2026-11-27 04:38:13.685 [1795/start/1 (pid 2568)] Task is starting.
2026-11-27 04:38:18.246 [1795/start/1 (pid 2568)] Task finished successfully.
2026-11-27 04:38:18.253 [1795/split/4 (pid 2578)] Task is starting.
2026-11-27 04:38:20.100 [1795/split/4 (pid 2578)] <flow ClassificationFlow step split> failed:
2026-11-27 04:38:20.100 [1795/split/4 (pid 2578)] Traceback (most recent call last):
2026-11-27 04:38:20.100 [1795/split/4 (pid 2578)]   File "modeling.py", line 39, in encode_target
2026-11-27 04:38:20.101 [1795/split/4 (pid 2578)] mlplatform.errors.DataQualityError: target 'label' has one class (0) in 60 valid rows — widen the window
2026-11-27 04:38:20.101 [1795/split/4 (pid 2578)]
2026-11-27 04:38:20.300 [1795/split/4 (pid 2578)] Task failed.
2026-11-27 04:38:20.400 Workflow failed.
"""


def test_command_adds_with_batch_and_kubernetes(tmp_path: Path) -> None:
    args = (tmp_path / "flow.py", tmp_path / "spec.yaml", "p.n")
    local = metaflow_command(*args, "local", 3, tmp_path / "id")
    assert "--with" not in local
    assert local[local.index("--max-workers") + 1] == "3"
    assert "pipeline:p.n" in local
    batch = metaflow_command(*args, "batch", 3, tmp_path / "id")
    assert batch[batch.index("--with") + 1] == "batch"
    assert batch.index("run") < batch.index("--with")
    kube = metaflow_command(*args, "kubernetes", 3, tmp_path / "id")
    assert kube[kube.index("--with") + 1] == "kubernetes"


def test_progress_counts_finished_tasks() -> None:
    progress = Progress(total=10)
    for line in FAILED_LOG.splitlines():
        _update(progress, line)
    assert progress.run_id == "1795"
    assert progress.done == 1
    assert progress.running == {"split/4"}


def test_failure_names_step_error_and_log(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(FAILED_LOG)
    error = failure_from_log(log)
    assert error.headline == (
        "step 'split' failed: DataQualityError: target 'label' has one class (0) in 60 valid "
        "rows — widen the window"
    )
    assert error.hint == f"full log: {log}"


def test_failure_before_any_task(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("$ python flow.py run\nMetaflow service error: cannot reach metadata\n")
    assert "the run did not start: Metaflow service error" in failure_from_log(log).headline
