"""A local HTTP server that answers like the AppsFlyer Pull API (raw data export v5).

Real HTTP on loopback: CSV bodies with the exact Pull API header, bearer-token checks, 404 for
unknown apps, a daily quota, scripted 5xx/429 failures, and truncation at `maximum_rows`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from mlplatform.data.appsflyer.columns import PULL_API_COLUMNS

PATH = re.compile(r"^/api/raw-data/export/app/(?P<app>[^/]+)/(?P<report>[^/]+)/v5$")


@dataclass
class FakeState:
    token: str = "good-token"
    apps: set[str] = field(default_factory=lambda: {"id1234567890"})
    step_minutes: int = 6  # one install every 6 minutes: 240 rows a day
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before succeeding
    quota: int | None = None  # calls left today; None: unlimited
    strict_limits: bool = True  # only 200000 / 1000000, like the real API
    requests: list[dict[str, str]] = field(default_factory=list)


def rows_between(start: datetime, end: datetime, step: int) -> list[datetime]:
    """Event times in [start, end] on the step grid (the API's `to` is inclusive)."""
    first = start + timedelta(minutes=(-start.minute) % step, seconds=-start.second)
    if first < start:
        first += timedelta(minutes=step)
    times, t = [], first
    while t <= end:
        times.append(t)
        t += timedelta(minutes=step)
    return times


def csv_body(times: list[datetime], app_id: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([h for h, _ in PULL_API_COLUMNS])
    for t in times:
        stamp = t.strftime("%Y-%m-%d %H:%M:%S")
        values = {
            "install_time": stamp,
            "event_time": stamp,
            "event_name": "install",
            "event_value": json.dumps({"af_channel": "x"}),
            "appsflyer_id": f"{int(t.timestamp() * 1000)}-{t.minute:07d}",
            "platform": "ios",
            "app_id": app_id,
            "media_source": "googleadwords_int",
            "is_retargeting": "false",
        }
        writer.writerow([values.get(snake, "") for _, snake in PULL_API_COLUMNS])
    return buffer.getvalue().encode()


class FakeAppsFlyer:
    def __init__(self) -> None:
        self.state = FakeState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                state.requests.append({"path": url.path, **query})
                match = PATH.match(url.path)
                if not match:
                    return self._answer(404, b"not found")
                if self.headers.get("Authorization") != f"Bearer {state.token}":
                    return self._answer(401, b"Supplied API token is invalid")
                if match.group("app") not in state.apps:
                    return self._answer(404, b"")
                if state.fail_next:
                    return self._answer(state.fail_next.pop(0), b"temporary failure")
                if state.quota is not None:
                    if state.quota <= 0:
                        return self._answer(
                            400, b"Your API call limit has been reached for the given report type"
                        )
                    state.quota -= 1
                limit = int(query.get("maximum_rows", "200000"))
                if state.strict_limits and limit not in (200_000, 1_000_000):
                    return self._answer(400, b"Invalid limit type")
                start = datetime.fromisoformat(query["from"])
                end = datetime.fromisoformat(query["to"])
                times = rows_between(start, end, state.step_minutes)[:limit]
                return self._answer(200, csv_body(times, match.group("app")), "text/csv")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAppsFlyer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
