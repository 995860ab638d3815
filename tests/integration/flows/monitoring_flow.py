"""A three-step flow for the monitoring collector tests: a second or so per step.

    python monitoring_flow.py run [--fail True] [--flaky True] [--sleep 60] [--tag team:x]

`work` raises `ValueError` with `--fail True` (so `end` never runs), raises on its first
attempt only with `--flaky True` (run it `--with retry:minutes_between_retries=0`), and sleeps
first with `--sleep N`, so a test can kill the run while `work` is open. `@project` gives every
run the `project:` and `project_branch:` system tags.
"""

import time

from metaflow import FlowSpec, Parameter, current, project, step


@project(name="monitoring_tests")
class MonitoringTestFlow(FlowSpec):
    fail = Parameter("fail", type=bool, default=False, help="Raise ValueError in `work`.")
    flaky = Parameter("flaky", type=bool, default=False, help="Raise on work's first attempt.")
    sleep = Parameter("sleep", type=int, default=0, help="Seconds `work` sleeps first.")

    @step
    def start(self):
        self.next(self.work)

    @step
    def work(self):
        time.sleep(self.sleep)
        if self.fail:
            raise ValueError("monitoring test failure")
        if self.flaky and current.retry_count == 0:
            raise RuntimeError("first attempt fails")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MonitoringTestFlow()
