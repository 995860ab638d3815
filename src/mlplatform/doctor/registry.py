"""The checks, in the order `doctor` runs and prints them: from the user's machine outward.

Dotted paths to each module's `CHECK`, imported only when that check runs, so `--only s3` never
imports the LDAP or PostgreSQL client.
"""

from __future__ import annotations

import importlib

from mlplatform.doctor.base import Check

CHECKS: dict[str, str] = {
    "local": "mlplatform.doctor.checks.local:CHECK",
    "metadata-service": "mlplatform.doctor.checks.metadata_service:CHECK",
    "postgres": "mlplatform.doctor.checks.postgres:CHECK",
    "s3-datastore": "mlplatform.doctor.checks.s3_datastore:CHECK",
    "batch": "mlplatform.doctor.checks.batch:CHECK",
    "directory": "mlplatform.doctor.checks.directory:CHECK",
    "jupyterhub": "mlplatform.doctor.checks.jupyterhub:CHECK",
    "efs": "mlplatform.doctor.checks.efs:CHECK",
    "appsflyer": "mlplatform.doctor.checks.appsflyer:CHECK",
    "alerting": "mlplatform.doctor.checks.alerting:CHECK",
}


def load(check_id: str) -> Check:
    module, _, name = CHECKS[check_id].partition(":")
    check = getattr(importlib.import_module(module), name)
    assert isinstance(check, Check) and check.id == check_id, CHECKS[check_id]
    return check
