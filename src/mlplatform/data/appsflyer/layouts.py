"""Names shared by the generator and the CLI, kept free of pandas so the CLI starts quickly."""

from __future__ import annotations

from typing import Literal

# Where raw data sits: Pull API CSVs in the raw zone, Data Locker hourly folders, Push API
# postbacks as JSON lines.
Layout = Literal["pull", "datalocker", "push"]
LAYOUTS: tuple[Layout, ...] = ("pull", "datalocker", "push")
# Faults the generator can inject on purpose (see synthetic.py).
FAULTS = ("wrong_types", "missing_columns", "bad_quoting", "duplicates", "late_rows")
