"""A three-step stand-in for a training template, so registry tests run real flows in seconds.

    python registry_flow.py run --pipeline tests.registry --value 0.8 [--gate fail] [--fail True]

`start` fits a tiny model and records the artifacts a template's register step leaves
(`model`, `metrics`, `lineage`, `summary`); `--fail True` makes it fail there, before register.
`register` calls `register_run` as the templates do and keeps the decision as an artifact.
"""

from metaflow import FlowSpec, Parameter, current, step


class RegistryTestFlow(FlowSpec):
    pipeline = Parameter("pipeline", default="tests.registry", help="Pipeline id.")
    metric = Parameter("metric", default="roc_auc", help="Promotion metric.")
    value = Parameter("value", type=float, default=0.8, help="The run's value of the metric.")
    lower_is_better = Parameter("lower_is_better", type=bool, default=False)
    margin = Parameter("margin", type=float, default=0.0, help="Required improvement.")
    gate = Parameter("gate", default="none", help="pass | fail | none")
    fail = Parameter("fail", type=bool, default=False, help="Fail in start, before register.")
    rows = Parameter("rows", type=int, default=100, help="Training rows, for the lineage.")

    @step
    def start(self):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        self.metrics = {self.metric: self.value, "accuracy": round(self.value / 2, 4)}
        if self.fail:
            raise RuntimeError("failed before register")
        self.next(self.register)

    @step
    def register(self):
        from mlplatform.registry import PromotionPolicy, register_run

        pathspec = f"{current.flow_name}/{current.run_id}"
        gate_passed = {"pass": True, "fail": False}.get(self.gate)
        self.lineage = {
            "pipeline_id": self.pipeline,
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"C": 1.0, "rows_seen": self.rows},
            "metrics": self.metrics,
            "gate": None if gate_passed is None else f"{self.metric} >= 0.5",
            "gate_passed": gate_passed,
            "data_fingerprint": f"sha256:{self.rows}",
            "spec": {"project": "tests", "model": {"estimator": "logistic_regression"}},
            "code_version": {"mlplatform": "test"},
            "rows": {"installs": {"rows_in": self.rows, "rows_valid": self.rows - 1}},
            "run": pathspec,
            "user": current.username,
        }
        self.summary = {"model_path": f"/nowhere/{current.run_id}/model.joblib"}
        policy = PromotionPolicy(self.metric, not self.lower_is_better, self.margin)
        decision = register_run(
            pathspec,
            self.pipeline,
            self.metrics,
            policy,
            gate_passed,
            current.username,
            flows=[current.flow_name],
        )
        self.decision = {
            "champion": decision.champion,
            "reason": decision.reason,
            "previous_champion": decision.previous_champion,
        }
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RegistryTestFlow()
