"""s3:// data sources against a real S3 API: moto in server mode on loopback."""

from __future__ import annotations

import io
import time
from pathlib import Path

import boto3
import pandas as pd
import pytest

from mlplatform.data.sources import expand, read_files
from mlplatform.errors import DataSourceError
from tests.conftest import AWS_ENV, assert_one_line_error, run_cli, table_spec, write_spec


@pytest.fixture
def bucket(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": aws_endpoint}.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")
    name = f"data-platform-raw-{time.monotonic_ns()}"
    s3.create_bucket(Bucket=name)
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["a", "b", "a"], "label": [0, 1, 0]})
    for part in ("dt=2026-09-01", "dt=2026-09-02"):
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        s3.put_object(Bucket=name, Key=f"tables/{part}/part-0.parquet", Body=buffer.getvalue())
    s3.put_object(Bucket=name, Key="tables/_SUCCESS", Body=b"")
    return name


def test_glob_lists_and_reads_objects(bucket: str) -> None:
    files = expand([f"s3://{bucket}/tables/dt=*/*.parquet"], "data.source.path")
    assert files == [
        f"s3://{bucket}/tables/dt=2026-09-01/part-0.parquet",
        f"s3://{bucket}/tables/dt=2026-09-02/part-0.parquet",
    ]
    result = read_files(files, "auto", required=["label"])
    assert len(result.frame) == 6 and set(result.frame["_source"]) == set(files)


def test_prefix_skips_markers(bucket: str) -> None:
    files = expand([f"s3://{bucket}/tables"], "data.source.path")
    assert len(files) == 2 and not any(f.endswith("_SUCCESS") for f in files)


def test_missing_bucket_is_clear(bucket: str) -> None:
    with pytest.raises(DataSourceError, match="cannot list S3 objects"):
        expand(["s3://no-such-bucket-here/x.csv"], "data.source.path")


def test_cli_preflight_reads_s3_header(bucket: str, aws_endpoint: str, tmp_path: Path) -> None:
    env = {**AWS_ENV, "AWS_ENDPOINT_URL": aws_endpoint}
    ok = write_spec(tmp_path / "ok.yaml", table_spec(f"s3://{bucket}/tables/dt=*/*.parquet"))
    result = run_cli("spec", "check", str(ok), cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    bad = table_spec(f"s3://{bucket}/tables/dt=*/*.parquet")
    bad["target"]["column"] = "purchased"
    result = run_cli(
        "spec", "check", str(write_spec(tmp_path / "bad.yaml", bad)), cwd=tmp_path, env=env
    )
    assert_one_line_error(result, "part-0.parquet: required column 'purchased' is missing")


def test_rewritten_object_is_read_fresh(bucket: str) -> None:
    uri = f"s3://{bucket}/tables/one.csv"
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key="tables/one.csv", Body=b"x,colour,label\n1,a,0\n")
    assert len(read_files([uri], "auto").frame) == 1
    s3.put_object(Bucket=bucket, Key="tables/one.csv", Body=b"x,colour,label\n1,a,0\n2,b,1\n")
    assert len(read_files([uri], "auto").frame) == 2  # the cache is keyed by ETag
