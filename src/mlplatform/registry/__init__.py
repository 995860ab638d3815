"""Model registry: lineage of every registered model, champion/challenger, promote, rollback.

A model version is a training run (`Flow/run_id`) tagged `registered` and `pipeline:<id>`.
Its lineage lives in the run's artifacts (`lineage`, `metrics`, `summary`, `model`); which
model is champion, and the history of who changed that and why, lives in the run's tags
(`events.py` explains the scheme). Both are Metaflow's own storage, so the registry works on
the local datastore and on S3 with the metadata service alike, with nothing else to run.

    register_run(...)      # from the flow's register step: challenger or new champion
    champion("marketing.d7_purchase")          # what batch scoring loads
    promote(ref, user, reason) / rollback(pipeline_id, user)
"""

from mlplatform.registry.actions import promote, register_run, rollback
from mlplatform.registry.comparison import Comparison, compare
from mlplatform.registry.events import Event
from mlplatform.registry.policy import Decision, PromotionPolicy, RegistryError
from mlplatform.registry.versions import (
    ModelVersion,
    champion,
    get_model,
    list_models,
    load_model,
)

__all__ = [
    "Comparison",
    "Decision",
    "Event",
    "ModelVersion",
    "PromotionPolicy",
    "RegistryError",
    "champion",
    "compare",
    "get_model",
    "list_models",
    "load_model",
    "promote",
    "register_run",
    "rollback",
]
