"""Register: the lineage record of a trained model and the promotion gate."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlplatform
from mlplatform.pipelines.spec import LOWER_IS_BETTER, PipelineSpec, gate_passes

if TYPE_CHECKING:
    import pandas as pd


def data_fingerprint(table: pd.DataFrame) -> str:
    """Content hash of the validated table: same rows, same columns, same fingerprint."""
    import pandas as pd  # here: the register step imports this module and needs no pandas

    digest = hashlib.sha256()
    digest.update(",".join(f"{c}:{t}" for c, t in table.dtypes.astype(str).items()).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def code_version(anchor: Path | None = None) -> dict[str, str]:
    version = {"mlplatform": mlplatform.__version__}
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=anchor or Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        version["git_commit"] = sha
    except (OSError, subprocess.SubprocessError):
        pass  # not a git checkout (an installed wheel, a Batch image): the version suffices
    return version


def gate_result(spec: PipelineSpec, metrics: dict[str, float]) -> bool | None:
    """True/False when a gate is set, None when there is none."""
    gate = spec.evaluation.gate
    return None if gate is None else gate_passes(gate, metrics)


def register(
    spec: PipelineSpec, pathspec: str, metrics: dict[str, float], gate_passed: bool | None
) -> dict[str, Any]:
    """Register the run as a model version; the registry decides champion or challenger."""
    from dataclasses import asdict

    from mlplatform.pipelines.launcher import metaflow_user
    from mlplatform.registry import PromotionPolicy, register_run

    metric = spec.champion_metric
    policy = PromotionPolicy(
        metric=metric,
        higher_is_better=metric not in LOWER_IS_BETTER,
        margin=spec.evaluation.margin,
    )
    decision = register_run(
        pathspec, spec.pipeline_id, metrics, policy, gate_passed, user=metaflow_user()
    )
    return asdict(decision)


def lineage(
    spec: PipelineSpec,
    fingerprint: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    gate_passed: bool | None,
    rows: dict[str, Any] | None = None,
    run: str | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """Everything needed to trust (or reproduce) a model version, in one artifact."""
    return {
        "pipeline_id": spec.pipeline_id,
        "task": spec.task,
        "estimator": spec.estimator_path,
        "params": params,
        "metrics": metrics,
        "gate": spec.evaluation.gate,
        "gate_passed": gate_passed,
        "champion_metric": spec.champion_metric,
        "data_fingerprint": fingerprint,
        "rows": rows or {},
        "run": run,
        "user": user,
        "spec": spec.to_config(),
        "code_version": code_version(),
    }
