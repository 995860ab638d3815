"""Write, read and test files at a local path or an `s3://` URI, atomically.

Local writes go to a hidden temporary name in the same folder, then `os.replace`: a reader
never sees half a file. S3 puts are atomic by nature (a multipart upload appears only on
complete). boto3 takes its endpoint from `AWS_ENDPOINT_URL` like every AWS client here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def write_bytes(location: str, data: bytes) -> str:
    if location.startswith("s3://"):
        bucket, key = _split(location)
        _s3().put_object(Bucket=bucket, Key=key, Body=data)
        return location
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return str(path)


def read_bytes(location: str) -> bytes | None:
    """The content, or None when there is nothing at `location`."""
    if location.startswith("s3://"):
        bucket, key = _split(location)
        client = _s3()
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
    path = Path(location)
    return path.read_bytes() if path.is_file() else None
