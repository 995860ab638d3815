"""Where a run's files go: quarantine CSV, model file, exported cards.

Beside the Metaflow datastore unless `runs.outputs_root` says otherwise: a local folder next
to `.metaflow` for local runs, `<datastore root>/mlplatform` on S3 for Batch runs (a Batch
container's disk disappears with it). Writes are atomic: a reader never sees half a file.
"""

from __future__ import annotations

from pathlib import Path

from mlplatform.settings import get_settings
from mlplatform.storage import join, write_bytes


def outputs_root() -> str:
    configured = get_settings().runs.outputs_root
    if configured:
        return configured
    from metaflow.metaflow_config import DATASTORE_SYSROOT_S3, DEFAULT_DATASTORE
    from metaflow.plugins.datastores.local_storage import LocalStorage

    if DEFAULT_DATASTORE == "s3" and DATASTORE_SYSROOT_S3:
        return f"{DATASTORE_SYSROOT_S3.rstrip('/')}/mlplatform"
    local = LocalStorage.get_datastore_root_from_config(lambda *a, **k: None, False)
    base = Path(local).parent if local else Path.cwd()
    return str(base / "mlplatform-runs")


def run_outputs(flow_name: str, run_id: str) -> str:
    return f"{outputs_root().rstrip('/')}/{flow_name}/{run_id}"


def write_output(base: str, name: str, data: bytes) -> str:
    """Write `data` to `base/name` (local path or s3:// URI); return the full location."""
    return write_bytes(join(base, name), data)
