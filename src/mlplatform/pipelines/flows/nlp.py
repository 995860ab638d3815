"""The nlp template. Text classification: which label fits a short text (a review)?

    python nlp.py --config pipeline spec.yaml run [--with batch]

The steps are the shared training DAG (see training.py); the spec's `task` decides what
differs. `@project` gives every pipeline its own namespace of deployments and tags.
"""

from metaflow import project

from mlplatform.pipelines.flows.common import PROJECT
from mlplatform.pipelines.flows.training import TrainingFlow


@project(name=PROJECT)
class NLPFlow(TrainingFlow):
    """Text classification: which label fits a short text (a review, a support message)?"""


if __name__ == "__main__":
    NLPFlow()
