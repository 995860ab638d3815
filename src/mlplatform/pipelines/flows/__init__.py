"""Metaflow templates. One flow file per task; the YAML spec arrives as the `pipeline` Config."""

from pathlib import Path

FLOWS_DIR = Path(__file__).parent
TEMPLATES = {"classification": ("ClassificationFlow", FLOWS_DIR / "classification.py")}
