"""Data Locker: only hours with _SUCCESS, late hours last, each partition processed once."""

from __future__ import annotations

from pathlib import Path

import boto3
import pandas as pd
import pytest

from mlplatform.data.appsflyer.datalocker import Checkpoint, list_partitions
from tests.conftest import AWS_ENV, run_cli

ROW = {
    "appsflyer_id": "1707053358481-2071216",
    "install_time": "2026-09-01 10:00:00",
    "event_time": "2026-09-01 10:00:00.123",
    "event_name": "install",
    "app_id": "id1234567890",
    "platform": "android",
    "media_source": "organic",
}


HOUR_IDS = {"2": 2, "10": 10, "11": 11, "late": 99}


def hour_files(hour: str, complete: bool, rows: int = 3) -> dict[str, bytes]:
    frame = pd.DataFrame(
        [ROW | {"appsflyer_id": f"1707053358481-{HOUR_IDS[hour]}{i}"} for i in range(rows)]
    )
    prefix = f"t=installs/dt=2026-09-01/h={hour}/"
    files = {prefix + "part-00000.gz": frame.to_csv(index=False, compression=None).encode()}
    if complete:
        files[prefix + "_SUCCESS"] = b""
    return files


LAYOUT = (
    hour_files("2", True)
    | hour_files("10", True)
    | hour_files("late", True)
    | hour_files("11", False)
    | {"t=inapps/dt=2026-09-01/h=2/_SUCCESS": b""}
)


def write_local(root: Path, files: dict[str, bytes]) -> None:
    import gzip

    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)


def test_only_complete_hours_in_arrival_order(tmp_path: Path) -> None:
    write_local(tmp_path, LAYOUT)
    partitions = list_partitions(str(tmp_path), "installs")
    assert [(p.hour, p.complete) for p in partitions] == [
        ("2", True),
        ("10", True),
        ("11", False),
        ("late", True),
    ]
    checkpoint = Checkpoint(str(tmp_path / "cp.json"))
    assert [p.hour for p in checkpoint.pending(partitions)] == ["2", "10", "late"]


def test_cli_processes_each_partition_once(tmp_path: Path) -> None:
    write_local(tmp_path / "dl", LAYOUT)
    args = [
        "appsflyer",
        "datalocker",
        "--root",
        str(tmp_path / "dl"),
        "--topic",
        "installs",
        "--out",
        str(tmp_path / "q"),
    ]
    first = run_cli(*args, cwd=tmp_path)
    assert first.code == 0, first.stderr
    assert "partitions_processed: 3" in first.stdout and "rows_valid: 9" in first.stdout
    assert "partitions_incomplete: 1" in first.stdout
    write_local(tmp_path / "dl", {"t=installs/dt=2026-09-01/h=11/_SUCCESS": b""})  # 11 closes
    second = run_cli(*args, cwd=tmp_path)
    assert "partitions_processed: 1" in second.stdout and "rows_in: 3" in second.stdout


def test_s3_bucket(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": aws_endpoint}.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="af-datalocker")
    for name, body in LAYOUT.items():
        s3.put_object(Bucket="af-datalocker", Key=f"home/data-locker-hourly/{name}", Body=body)
    root = "s3://af-datalocker/home/data-locker-hourly"
    partitions = list_partitions(root, "installs")
    assert sum(p.complete for p in partitions) == 3
    checkpoint = Checkpoint(f"{root}/_checkpoint.json")
    checkpoint.mark(checkpoint.pending(partitions)[0])
    assert len(Checkpoint(f"{root}/_checkpoint.json").pending(partitions)) == 2
