"""Batch scoring: a registered model predicts new rows, checked against its training schema.

The input goes through the same ingest and validate steps as training data, with a schema
built from the model's own training spec: every feature the model reads must be present and
of the type it was trained on (numbers for numeric features, text otherwise), plus the
training spec's column checks for those features and the scoring spec's own. Rows that break
it are quarantined and counted, never silently scored or dropped.

Predictions are written as Parquet files of at most `scoring.chunk_rows` rows under
`<output>/predictions/`, then a `_manifest.json` last: a reader that finds the manifest
knows every file it lists is complete.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mlplatform.errors import DataQualityError
from mlplatform.pipelines.spec import ColumnSchema, DataSpec, PipelineSpec, ScoringSpec
from mlplatform.storage import join, write_bytes


@dataclass
class ScoringModel:
    """The model version a scoring run uses, and the training spec that made it."""

    pathspec: str
    pipeline_id: str
    training_spec: dict[str, Any]


def resolve_model(spec: ScoringSpec) -> ScoringModel:
    from mlplatform.registry import get_model

    version = get_model(spec.scoring.model)
    if not version.spec:
        raise DataQualityError(
            f"model {version.pathspec} has no training spec in its lineage",
            "score with a model registered by this platform's templates",
        )
    return ScoringModel(version.pathspec, version.pipeline_id or "", version.spec)


def load_model(model: ScoringModel) -> Any:
    """The fitted model: the training run's `model` artifact."""
    from mlplatform import registry

    return registry.load_model(model.pathspec)


def training_spec(model: ScoringModel) -> PipelineSpec:
    return PipelineSpec.model_validate(model.training_spec, context={"trusted": True})


def with_training_schema(spec: ScoringSpec, training: PipelineSpec) -> ScoringSpec:
    """The scoring spec with the model's input schema merged into `data.schema`."""
    feats = training.features
    schema: dict[str, ColumnSchema] = {}
    for column in feats.columns:
        kind = "float" if column in feats.numeric else "string"
        schema[column] = training.data.schema_.get(column) or ColumnSchema(type=kind)
    schema.update(spec.data.schema_)
    data = DataSpec.model_validate(
        spec.data.model_dump(by_alias=True)
        | {"schema": {k: v.model_dump() for k, v in schema.items()}}
    )
    return spec.model_copy(update={"data": data})


@dataclass
class ScoringResult:
    files: list[str]
    rows_scored: int
    manifest: str
    summary: dict[str, Any]  # prediction distribution for the card


def score(
    spec: ScoringSpec,
    training: PipelineSpec,
    model: Any,
    model_ref: str,
    table: pd.DataFrame,
    output: str,
    run: str,
) -> ScoringResult:
    scored_at = datetime.now(UTC)
    files: list[str] = []
    predictions: list[np.ndarray] = []
    chunk = spec.scoring.chunk_rows
    for number, start in enumerate(range(0, max(len(table), 1), chunk)):
        part = table.iloc[start : start + chunk]
        if part.empty:
            break
        frame = _predict(training, model, part)
        for column in spec.scoring.keep_columns:
            frame.insert(0, column, part[column].to_numpy())
        frame["model_version"] = model_ref
        frame["pipeline_id"] = training.pipeline_id
        frame["scoring_run"] = run
        frame["scored_at"] = pd.Timestamp(scored_at)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        files.append(
            write_bytes(
                join(output, "predictions", f"part-{number:05d}.parquet"), buffer.getvalue()
            )
        )
        predictions.append(frame["prediction"].to_numpy())
    manifest = {
        "model_version": model_ref,
        "pipeline_id": training.pipeline_id,
        "scoring_run": run,
        "scored_at": scored_at.isoformat(),
        "rows": len(table),
        "files": files,
    }
    # Last: its presence says every file above is complete.
    manifest_path = write_bytes(
        join(output, "predictions", "_manifest.json"), json.dumps(manifest, indent=2).encode()
    )
    values = np.concatenate(predictions) if predictions else np.array([])
    return ScoringResult(files, len(table), manifest_path, _distribution(training, values))


def _predict(training: PipelineSpec, model: Any, part: pd.DataFrame) -> pd.DataFrame:
    X = part[training.features.columns]
    if training.task == "regression":
        return pd.DataFrame({"prediction": np.asarray(model.predict(X), dtype=float)})
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    if training.task == "classification":
        # The model predicts 0/1; name the positive class the user gave (or the larger label).
        positive = proba[:, classes.index(1)]
        threshold = training.evaluation.threshold
        return pd.DataFrame({"prediction": (positive >= threshold).astype(int), "score": positive})
    best = np.argmax(proba, axis=1)
    return pd.DataFrame(
        {"prediction": np.asarray(classes, dtype=object)[best], "score": proba.max(axis=1)}
    )


def _distribution(training: PipelineSpec, values: np.ndarray) -> dict[str, Any]:
    if training.task == "regression":
        if not len(values):
            return {"kind": "numeric", "values": []}
        sample = np.random.default_rng(0).choice(
            values, size=min(len(values), 20_000), replace=False
        )
        return {"kind": "numeric", "values": [float(v) for v in sample]}
    counts = pd.Series(values.astype(str)).value_counts().sort_index()
    return {"kind": "labels", "counts": {str(k): int(v) for k, v in counts.items()}}
