"""The batch scoring template: a registered model predicts new rows.

    python scoring.py --config pipeline spec.yaml run [--with batch]

    start -> ingest -> validate -> predict -> end

`start` resolves the model (the pipeline's champion, or a named version) and its training
spec; the input is validated against that spec's schema (rejected rows are quarantined and
counted) and the predictions land as Parquet with the model version and a timestamp.
"""

from __future__ import annotations

import io
from typing import Any

from metaflow import (
    FlowSpec,
    card,
    current,
    project,
    resources,
    retry,
    step,
)

from mlplatform.pipelines.flows.common import CPU, MEMORY, PROJECT, pipeline_config, tag_run


@project(name=PROJECT)
class ScoringFlow(FlowSpec):
    """Batch scoring with a registered model."""

    pipeline = pipeline_config()

    def _spec(self) -> Any:
        from mlplatform.pipelines.spec import ScoringSpec

        return ScoringSpec.model_validate(self.pipeline.to_dict())

    @step
    def start(self) -> None:
        from mlplatform.pipelines.steps.scoring import resolve_model

        spec = self._spec()
        self.pipeline_id = spec.pipeline_id
        self.model_ref = resolve_model(spec)
        tag_run([f"pipeline:{spec.pipeline_id}", f"model:{self.model_ref.pathspec}"])
        self.next(self.ingest)

    @retry(times=2, minutes_between_retries=0)
    @resources(cpu=CPU, memory=MEMORY)
    @step
    def ingest(self) -> None:
        from mlplatform.pipelines.steps.ingest import ingest
        from mlplatform.pipelines.steps.scoring import training_spec, with_training_schema

        self.input_spec = with_training_schema(self._spec(), training_spec(self.model_ref))
        self.ingested = ingest(self.input_spec)
        self.next(self.validate)

    @resources(cpu=CPU, memory=MEMORY)
    @step
    def validate(self) -> None:
        from mlplatform.pipelines.outputs import run_outputs, write_output
        from mlplatform.pipelines.steps.validate import enforce_limit, validate

        result = validate(self.input_spec, self.ingested)
        self.outputs = run_outputs(current.flow_name, current.run_id)
        buffer = io.StringIO()
        result.rejected.to_csv(buffer, index=False)
        self.quarantine_path = write_output(
            self.outputs, "quarantine.csv", buffer.getvalue().encode()
        )
        self.validation_report = result.report | {"quarantine_path": self.quarantine_path}
        self.table = result.table
        self.ingested = None
        enforce_limit(self.input_spec, result.report, self.quarantine_path)
        self.next(self.predict)

    @card(type="blank", id="scoring", timeout=120)
    @resources(cpu=CPU, memory=MEMORY)
    @step
    def predict(self) -> None:
        from mlplatform.pipelines.card import scoring_components
        from mlplatform.pipelines.resources import capped_threads
        from mlplatform.pipelines.steps.scoring import load_model, score, training_spec

        spec = self._spec()
        training = training_spec(self.model_ref)
        output = spec.scoring.output or self.outputs
        with capped_threads(1):
            result = score(
                spec,
                training,
                load_model(self.model_ref),
                self.model_ref.pathspec,
                self.table,
                output,
                f"{current.flow_name}/{current.run_id}",
            )
        self.predictions = result.files
        self.manifest = result.manifest
        report = self.validation_report
        self.summary = {
            "pipeline_id": spec.pipeline_id,
            "run": f"{current.flow_name}/{current.run_id}",
            "model_version": self.model_ref.pathspec,
            "model_pipeline": self.model_ref.pipeline_id,
            "validation": report,
            "rows_scored": result.rows_scored,
            "rows_rejected": report["rows_quarantined"],
            "predictions": result.manifest,
            "quarantine_path": self.quarantine_path,
            "outputs": self.outputs,
        }
        current.card.extend(scoring_components(self.summary, result.summary))
        self.table = None  # the predictions are the product; no second copy in the datastore
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


if __name__ == "__main__":
    ScoringFlow()
