"""Data Locker: find complete hourly partitions, process each once.

Layout (AppsFlyer's bucket or yours): `<root>/t=<topic>/dt=YYYY-MM-DD/h=<0..23|late>/part-*`.
An hour is complete when its `_SUCCESS` object exists; AppsFlyer writes it last. Hour folders
follow arrival time, so `h=late` holds rows that arrived after their day closed. A checkpoint
file lists the partitions already processed, so a rerun only picks up new ones.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlplatform.storage import read_bytes, write_bytes

_PARTITION = re.compile(
    r"t=(?P<topic>[^/]+)/dt=(?P<day>\d{4}-\d{2}-\d{2})/h=(?P<hour>\d{1,2}|late)/"
)


@dataclass(frozen=True)
class Partition:
    topic: str
    day: str
    hour: str  # "0".."23" or "late"
    files: tuple[str, ...]
    complete: bool

    @property
    def key(self) -> str:
        return f"t={self.topic}/dt={self.day}/h={self.hour}"

    @property
    def sort_key(self) -> tuple[str, int]:
        return self.day, 24 if self.hour == "late" else int(self.hour)  # late after 23


def _list_objects(root: str) -> list[str]:
    if root.startswith("s3://"):
        import boto3

        bucket, _, prefix = root.removeprefix("s3://").partition("/")
        paginator = boto3.client("s3").get_paginator("list_objects_v2")
        return [
            f"s3://{bucket}/{obj['Key']}"
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
            for obj in page.get("Contents", [])
        ]
    found: list[str] = []
    for folder, _, names in os.walk(root):
        found.extend(os.path.join(folder, n) for n in names)
    return found


def list_partitions(root: str, topic: str) -> list[Partition]:
    """Every hour folder of `topic`, complete or not, in arrival order."""
    files: dict[tuple[str, str, str], list[str]] = {}
    done: set[tuple[str, str, str]] = set()
    for location in _list_objects(root):
        match = _PARTITION.search(location.replace(os.sep, "/"))
        if not match or match.group("topic") != topic:
            continue
        key = (match.group("topic"), match.group("day"), match.group("hour"))
        name = location.rsplit("/", 1)[-1]
        if name == "_SUCCESS":
            done.add(key)
        elif not name.startswith((".", "_")):
            files.setdefault(key, []).append(location)
    partitions = [
        Partition(t, d, h, tuple(sorted(files.get((t, d, h), []))), (t, d, h) in done)
        for (t, d, h) in set(files) | done
    ]
    return sorted(partitions, key=lambda p: p.sort_key)


class Checkpoint:
    """The partitions already processed, stored as JSON at a local path or an s3:// URI."""

    def __init__(self, location: str) -> None:
        self.location = location
        raw = read_bytes(location)
        data: dict[str, Any] = json.loads(raw) if raw else {"done": []}
        self.done: set[str] = set(data["done"])

    def pending(self, partitions: Iterable[Partition]) -> list[Partition]:
        return [p for p in partitions if p.complete and p.key not in self.done]

    def mark(self, partition: Partition) -> None:
        self.done.add(partition.key)
        # Written after each partition: a crash re-processes at most the one in flight.
        write_bytes(self.location, json.dumps({"done": sorted(self.done)}, indent=1).encode())
