"""Push API V2 receiver: postbacks in, durable before answering, hourly Parquet out.

AppsFlyer POSTs a JSON body (or GETs with query parameters) per event. Each postback is
validated with the same report schemas as files; a bad one gets 422 with the reason and is
kept in quarantine. A good one is appended to the hour's write-ahead file and fsync'ed
*before* the 200 goes back, so an acknowledged postback survives a crash. Duplicates (same
AppsFlyer ID, event name and event time; AppsFlyer retries) are acknowledged and not stored
twice. Closed hours are rolled into Parquet partitions in the raw zone,
`<raw root>/appsflyer/<app_id>/push_api/dt=YYYY-MM-DD/h=H/part-00000.parquet`, and an SNS
message announces each one when a topic is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mlplatform.data.appsflyer.columns import internal_name
from mlplatform.data.appsflyer.reports import Report, report_of_event
from mlplatform.data.appsflyer.schemas import required_columns
from mlplatform.data.appsflyer.validate import to_text, validate_frame
from mlplatform.storage import join, write_bytes


def report_for(record: dict[str, Any]) -> Report:
    retargeting = str(record.get("is_retargeting", "")).lower() == "true"
    return report_of_event(str(record.get("event_name", "")), retargeting)


def check_postback(record: dict[str, Any]) -> str:
    """'' when the postback is valid, else the reason."""
    missing = [c for c in required_columns("snake") if record.get(c) in (None, "")]
    if missing:
        return f"{missing[0]}: missing"
    frame = pd.DataFrame([{internal_name(k): to_text(v) for k, v in record.items()}])
    _, reasons = validate_frame(frame, report_for(record))
    return str(reasons.iloc[0])


class PushStore:
    """Write-ahead files per hour on local disk, rolled into the raw zone when the hour ends."""

    def __init__(self, spool: Path, raw_root: str, sns_topic_arn: str | None = None) -> None:
        self.spool = spool
        self.raw_root = raw_root
        self.sns_topic_arn = sns_topic_arn
        self.lock = threading.Lock()
        self.seen: dict[str, set[str]] = {}  # hour -> dedupe keys
        (spool / "wal").mkdir(parents=True, exist_ok=True)
        (spool / "quarantine").mkdir(parents=True, exist_ok=True)
        for wal in (spool / "wal").glob("*.jsonl"):  # after a restart: keep deduplicating
            self.seen[wal.stem] = {_key(json.loads(line)) for line in wal.read_text().splitlines()}

    def accept(self, record: dict[str, Any], now: datetime) -> str:
        """'stored' or 'duplicate'; durable on disk before it returns."""
        hour = now.strftime("%Y-%m-%dT%H")
        key = _key(record)
        with self.lock:
            if any(key in keys for keys in self.seen.values()):
                return "duplicate"
            stamped = record | {"_received_at": now.isoformat()}
            _append(self.spool / "wal" / f"{hour}.jsonl", stamped)
            self.seen.setdefault(hour, set()).add(key)
        return "stored"

    def quarantine(self, record: dict[str, Any], reason: str, now: datetime) -> None:
        entry = {"reason": reason, "received_at": now.isoformat(), "postback": record}
        with self.lock:
            _append(self.spool / "quarantine" / f"{now:%Y-%m-%d}.jsonl", entry)

    def roll(self, now: datetime) -> list[str]:
        """Move every finished hour into Parquet partitions; returns where they landed."""
        current = now.strftime("%Y-%m-%dT%H")
        landed = []
        for wal in sorted((self.spool / "wal").glob("*.jsonl")):
            if wal.stem >= current:
                continue
            records = [json.loads(line) for line in wal.read_text().splitlines() if line]
            day, hour = wal.stem.split("T")
            frame = pd.DataFrame.from_records(records).map(to_text)
            for app_id, rows in frame.groupby("app_id"):
                target = join(
                    self.raw_root,
                    "appsflyer",
                    str(app_id),
                    "push_api",
                    f"dt={day}",
                    f"h={int(hour)}",
                    "part-00000.parquet",
                )
                buffer = io.BytesIO()
                rows.to_parquet(buffer, index=False)
                landed.append(write_bytes(target, buffer.getvalue()))
                self._announce(target, len(rows))
            with self.lock:
                wal.rename(wal.with_suffix(".rolled"))  # kept for audit; never re-rolled
                self.seen.pop(wal.stem, None)
        return landed

    def _announce(self, location: str, rows: int) -> None:
        if not self.sns_topic_arn:
            return
        import boto3

        boto3.client("sns").publish(
            TopicArn=self.sns_topic_arn,
            Subject="AppsFlyer push partition closed",
            Message=json.dumps({"location": location, "rows": rows}),
        )


def _key(record: dict[str, Any]) -> str:
    parts = [str(record.get(k, "")) for k in ("appsflyer_id", "event_name", "event_time")]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())  # acknowledged means on disk


def create_app(store: PushStore, roll_seconds: float = 60.0) -> Starlette:
    def now() -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    async def postback(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                record = json.loads(await request.body())
            except ValueError:
                record = None
            if not isinstance(record, dict):
                store.quarantine(
                    {"body": (await request.body()).decode(errors="replace")},
                    "body is not a JSON object",
                    now(),
                )
                return JSONResponse({"error": "body is not a JSON object"}, status_code=422)
        else:
            record = dict(request.query_params)
        reason = check_postback(record)
        if reason:
            store.quarantine(record, reason, now())
            return JSONResponse({"error": reason}, status_code=422)
        return JSONResponse({"status": store.accept(record, now())})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async def roller() -> None:
            while True:
                await asyncio.sleep(roll_seconds)
                await asyncio.to_thread(store.roll, now())

        task = asyncio.create_task(roller())
        try:
            yield
        finally:
            task.cancel()

    return Starlette(
        routes=[
            Route("/postback", postback, methods=["GET", "POST"]),
            Route("/healthz", health),
        ],
        lifespan=lifespan,
    )
