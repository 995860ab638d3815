"""Register: the lineage record of a trained model and the promotion gate."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlplatform
from mlplatform.pipelines.spec import PipelineSpec, gate_passes

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


def registration_tags(spec: PipelineSpec, gate_passed: bool | None) -> list[str]:
    tags = [f"pipeline:{spec.pipeline_id}", "registered"]
    if gate_passed is True:
        tags.append("champion")
    elif gate_passed is False:
        tags.append("gate:failed")
    return tags


def lineage(
    spec: PipelineSpec,
    fingerprint: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    gate_passed: bool | None,
) -> dict[str, Any]:
    return {
        "pipeline_id": spec.pipeline_id,
        "estimator": spec.model.estimator_path,
        "params": params,
        "metrics": metrics,
        "gate": spec.evaluation.gate,
        "gate_passed": gate_passed,
        "data_fingerprint": fingerprint,
        "spec": spec.to_config(),
        "code_version": code_version(),
    }
