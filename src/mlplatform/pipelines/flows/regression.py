"""The regression template. Regression: how much will an install spend by day 30?

    python regression.py --config pipeline spec.yaml run [--with batch]

The steps are the shared training DAG (see training.py); the spec's `task` decides what
differs. `@project` gives every pipeline its own namespace of deployments and tags.
"""

from metaflow import project

from mlplatform.pipelines.flows.common import PROJECT
from mlplatform.pipelines.flows.training import TrainingFlow


@project(name=PROJECT)
class RegressionFlow(TrainingFlow):
    """Regression: how much will an install spend by day 30?"""


if __name__ == "__main__":
    RegressionFlow()
