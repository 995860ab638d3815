"""An S3 endpoint on loopback: moto in server mode, a child process the stack owns.

moto keeps everything in memory: objects written to the stack's S3 are gone after `stack down`
(the datastore bucket is created again by the next `up`). Clients reach it through boto3's
standard endpoint settings (`AWS_ENDPOINT_URL`) and Metaflow's `METAFLOW_S3_ENDPOINT_URL`.
"""

from __future__ import annotations

import importlib.util
import sys
import urllib.request
from pathlib import Path

from mlplatform.errors import PlatformError
from mlplatform.stack.process import launch

BUCKET = "metaflow-artifacts-stack"
REGION = "us-east-1"
# moto accepts any credentials; these only have to be present for boto3 to sign requests.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "stack",
    "AWS_SECRET_ACCESS_KEY": "stack",
    "AWS_DEFAULT_REGION": REGION,
}


def installed() -> bool:
    return importlib.util.find_spec("moto") is not None and (
        importlib.util.find_spec("flask") is not None
    )


def start(folder: Path, port: int, timeout: float) -> tuple[int, str]:
    """Start moto on 127.0.0.1:`port`; the PID and the endpoint URL."""
    if not installed():
        raise PlatformError(
            "moto server is not installed", "pip install 'mlplatform[stack]' (moto[server])"
        )
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "moto.log"
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(url + "/moto-api/", timeout=2) as reply:
            return bool(reply.status == 200)

    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return launch(command, "s3 (moto)", log, ready, timeout), url


def create_bucket(endpoint: str, bucket: str = BUCKET) -> None:
    """The datastore bucket, versioning and default encryption on (as Terraform makes it)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
