"""The training DAG every training template shares; each template file subclasses it.

    ingest -> validate -> split -> tune (foreach, round 1) -> learn -> round_two ->
    tune_more (foreach, round 2) -> select -> train -> evaluate -> register

Steps hold no logic of their own: each calls plain functions in `mlplatform.pipelines.steps`
and keeps their results as artifacts; what differs by task (target encoding, metrics, plots)
is decided there from the spec. Nothing here ties the flow to the local machine, so the same
file runs with `--with batch` / `--with kubernetes` and compiles to Step Functions and Argo.
Metaflow builds the graph from every `@step` method the flow class has, inherited ones
included, so the template files stay a few lines each.
"""

from __future__ import annotations

import io
from typing import Any

from metaflow import (
    FlowSpec,
    card,
    current,
    resources,
    retry,
    step,
)

from mlplatform.pipelines.flows.common import CPU, MEMORY, pipeline_config, tag_run


class TrainingFlow(FlowSpec):
    """Base of the classification, regression and NLP templates (not a flow on its own)."""

    pipeline = pipeline_config()

    def _spec(self) -> Any:
        from mlplatform.pipelines.spec import PipelineSpec

        # The Config parser validated the spec in full when the run started; steps skip the
        # estimator import that check needs, so light steps start without scikit-learn.
        return PipelineSpec.model_validate(self.pipeline.to_dict(), context={"trusted": True})

    def _score(self, candidate: Any, round_size: int) -> Any:
        """One candidate's cross-validated score, or None for an idle round's placeholder."""
        if candidate is None:
            return None
        from mlplatform.pipelines.resources import capped_threads
        from mlplatform.pipelines.steps.tuning import score_candidate
        from mlplatform.settings import get_settings

        spec = self._spec()
        # As many tasks as the round has run at once (at most --max-workers): share the cores.
        with capped_threads(min(get_settings().runs.max_workers, round_size)):
            score = score_candidate(spec, self.tuning_data, candidate.params, candidate.round)
        score.trial = candidate.trial
        return score

    @step
    def start(self) -> None:
        spec = self._spec()
        self.pipeline_id = spec.pipeline_id
        tag_run([f"pipeline:{spec.pipeline_id}"])
        self.next(self.ingest)

    @retry(times=2, minutes_between_retries=0)
    @resources(cpu=CPU, memory=MEMORY)
    @step
    def ingest(self) -> None:
        from mlplatform.pipelines.steps.ingest import ingest

        self.ingested = ingest(self._spec())
        self.next(self.validate)

    @resources(cpu=CPU, memory=MEMORY)
    @step
    def validate(self) -> None:
        from mlplatform.pipelines.outputs import run_outputs, write_output
        from mlplatform.pipelines.steps.registration import data_fingerprint
        from mlplatform.pipelines.steps.validate import enforce_limit, validate

        spec = self._spec()
        result = validate(spec, self.ingested)
        self.outputs = run_outputs(current.flow_name, current.run_id)
        buffer = io.StringIO()
        result.rejected.to_csv(buffer, index=False)
        self.quarantine_path = write_output(
            self.outputs, "quarantine.csv", buffer.getvalue().encode()
        )
        self.quarantine = result.rejected
        self.validation_report = result.report | {"quarantine_path": self.quarantine_path}
        self.table = result.table
        self.data_fingerprint = data_fingerprint(result.table)  # here, while it is in memory
        self.ingested = None  # raw rows are in quarantine or in the table; drop the copy
        enforce_limit(spec, result.report, self.quarantine_path)
        self.next(self.split)

    @resources(cpu=CPU, memory=MEMORY)
    @step
    def split(self) -> None:
        from mlplatform.pipelines.steps.search import first_round
        from mlplatform.pipelines.steps.splitting import split, tuning_sample

        spec = self._spec()
        self.data = split(spec, self.table)
        self.tuning_data = tuning_sample(spec, self.data)
        self.round_1, self.search = first_round(spec)
        self.next(self.tune, foreach="round_1")

    @resources(cpu=CPU, memory=MEMORY)
    @step
    def tune(self) -> None:
        self.score = self._score(self.input, len(self.round_1))
        self.next(self.learn)

    @step
    def learn(self, inputs: Any) -> None:
        """Between the rounds: tell a Bayesian study the scores and ask the next batch."""
        from mlplatform.pipelines.steps.search import next_round, scores_of

        self.scores = scores_of([i.score for i in inputs])
        self.merge_artifacts(inputs, exclude=["score"])
        self.round_2, self.search = next_round(self._spec(), self.search, self.scores)
        self.next(self.round_two)

    @step
    def round_two(self) -> None:
        """Fans out round 2 (Metaflow lets no step both join and split)."""
        self.next(self.tune_more, foreach="round_2")

    @resources(cpu=CPU, memory=MEMORY)
    @step
    def tune_more(self) -> None:
        self.score = self._score(self.input, len(self.round_2))
        self.next(self.select)

    @step
    def select(self, inputs: Any) -> None:
        from mlplatform.pipelines.steps.search import scores_of, select_best

        self.merge_artifacts(inputs, exclude=["score"])
        self.scores = self.scores + scores_of([i.score for i in inputs])
        self.best = select_best(self.scores)
        self.next(self.train)

    @resources(cpu=CPU, memory=MEMORY)
    @step
    def train(self) -> None:
        import joblib

        from mlplatform.pipelines.outputs import write_output
        from mlplatform.pipelines.resources import capped_threads
        from mlplatform.pipelines.steps.modeling import build_pipeline

        spec = self._spec()
        with capped_threads(1):
            self.model = build_pipeline(spec, self.best.params).fit(
                self.data.X_train, self.data.y_train
            )
        buffer = io.BytesIO()
        joblib.dump(self.model, buffer)
        # Written here, while the model is in memory; `register` makes it official with tags.
        self.model_path = write_output(self.outputs, "model.joblib", buffer.getvalue())
        self.next(self.evaluate)

    @card(type="blank", id="evaluation", timeout=180)
    @resources(cpu=CPU, memory=MEMORY)
    @step
    def evaluate(self) -> None:
        from mlplatform.pipelines.card import evaluation_components
        from mlplatform.pipelines.resources import capped_threads
        from mlplatform.pipelines.steps.evaluation import evaluate

        spec = self._spec()
        with capped_threads(1):
            self.evaluation = evaluate(spec, self.model, self.data, seed=spec.split.seed)
        self.metrics = self.evaluation.metrics
        current.card.extend(
            evaluation_components(
                spec.pipeline_id,
                self.evaluation,
                self.scores,
                self.best,
                spec.evaluation.threshold,
                self.validation_report,
            )
        )
        self.next(self.register)

    @step
    def register(self) -> None:
        from mlplatform.pipelines.launcher import metaflow_user
        from mlplatform.pipelines.steps.registration import gate_result, lineage

        spec = self._spec()
        pathspec = f"{current.flow_name}/{current.run_id}"
        self.gate_passed = gate_result(spec, self.metrics)
        report = self.validation_report
        rows = {
            "tables": report["tables"],
            "examples": report["examples"],
            "train": len(self.data.y_train),
            "holdout": len(self.data.y_test),
        }
        self.lineage = lineage(
            spec,
            self.data_fingerprint,
            self.best.params,
            self.metrics,
            self.gate_passed,
            rows=rows,
            run=pathspec,
            user=metaflow_user(),
        )
        self.summary = {
            "pipeline_id": spec.pipeline_id,
            "run": pathspec,
            "validation": self.validation_report,
            "best_params": self.best.params,
            "cv_score": {self.best.metric: round(self.best.score, 6)},
            "metrics": self.metrics,
            "gate": spec.evaluation.gate,
            "gate_passed": self.gate_passed,
            "model_path": self.model_path,
            "quarantine_path": self.quarantine_path,
            "outputs": self.outputs,
            "data_fingerprint": self.data_fingerprint,
        }
        self.next(self.end)

    @step
    def end(self) -> None:
        """Registers the model: the registry's tags are the run's last write, after every
        artifact above is stored, so a run that fails earlier never touches the champion."""
        from mlplatform.pipelines.steps.registration import register

        spec = self._spec()
        decision = register(spec, self.lineage["run"], self.metrics, self.gate_passed)
        self.summary = self.summary | {
            "champion": decision["champion"],
            "registry": decision["reason"],
        }
