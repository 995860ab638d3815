"""Metaflow templates. One flow file per task; the YAML spec arrives as the `pipeline` Config."""

from pathlib import Path

FLOWS_DIR = Path(__file__).parent
TEMPLATES = {
    "classification": ("ClassificationFlow", FLOWS_DIR / "classification.py"),
    "regression": ("RegressionFlow", FLOWS_DIR / "regression.py"),
    "nlp": ("NLPFlow", FLOWS_DIR / "nlp.py"),
    "scoring": ("ScoringFlow", FLOWS_DIR / "scoring.py"),
}
TRAINING_TASKS = ("classification", "regression", "nlp")
