"""Loopback stand-ins for a Slack incoming webhook and the PagerDuty Events API v2.

Each is a stdlib `ThreadingHTTPServer` in a thread that records every request it gets and can
be told to misbehave, then recover:
- `fail(status)`: answer an error (500, 429 with Retry-After, 400 ...) without acting on it;
- `hang()`: hold the request past the client's timeout and drop it, unprocessed;
- `slow()`: act on the request (post the message, record the event) but answer too late, the
  case that makes an at-least-once sender send it again.

They check what the real services check, and answer as they do. Slack: the webhook path
(404 `no_service`), JSON and Block Kit limits (400 `invalid_payload` / `invalid_blocks`),
200 `ok`. PagerDuty: the routing key, `event_action`, `dedup_key` and a trigger's payload
(400 `invalid event`), 202 `{"status": "success", "dedup_key"}`; like PagerDuty it shows an
event once per (`dedup_key`, `event_action`), however often it arrives.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

SLACK_PATH = "/services/T0MLPLATFORM/B0ALERTS/"
PAGERDUTY_PATH = "/v2/enqueue"
ALERT_ID = re.compile(r"Alert id `([^`]+)`")
SEVERITIES = {"critical", "error", "warning", "info"}


@dataclass
class Arrival:
    key: str  # Slack: the alert id shown in the message; PagerDuty: "dedup_key/event_action"
    answered: int  # the HTTP status sent back; 0 when the request was dropped
    acted: bool  # Slack posted it / PagerDuty processed it (even if the answer was lost)
    body: Any


@dataclass
class Receiver:
    kind: Literal["slack", "pagerduty"]
    secret: str  # Slack: the webhook token (in the URL path); PagerDuty: the routing key
    url: str = ""
    hang_seconds: float = 5.0
    arrivals: list[Arrival] = field(default_factory=list)
    _mode: str = "ok"
    _status: int = 500
    _answer: str = ""
    _retry_after: int | None = None
    _times: int | None = None  # requests left in the current mode; None: until recover()
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        status: int = 500,
        answer: str = "",
        times: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        with self._lock:
            self._mode, self._status, self._answer, self._times = "fail", status, answer, times
            self._retry_after = retry_after

    def hang(self, times: int | None = None) -> None:
        with self._lock:
            self._mode, self._times = "hang", times

    def slow(self, times: int | None = None) -> None:
        with self._lock:
            self._mode, self._times = "slow", times

    def recover(self) -> None:
        with self._lock:
            self._mode, self._times = "ok", None
            self._release.set()  # wake held requests now rather than after hang_seconds
            self._release = threading.Event()

    def shown(self) -> list[str]:
        """Keys as the service's users see them: Slack every posted message, PagerDuty each
        (dedup_key, action) once, in the order they first arrived."""
        acted = [a.key for a in self.arrivals if a.acted]
        return acted if self.kind == "slack" else list(dict.fromkeys(acted))

    def received(self) -> Counter[str]:
        return Counter(a.key for a in self.arrivals)

    def confirmed(self) -> Counter[str]:
        return Counter(a.key for a in self.arrivals if 200 <= a.answered < 300)

    def sent_after_confirmed(self) -> list[str]:
        """Keys that arrived again after the receiver had already answered 2xx for them."""
        seen, again = set(), []
        for arrival in self.arrivals:
            if arrival.key in seen:
                again.append(arrival.key)
            if 200 <= arrival.answered < 300:
                seen.add(arrival.key)
        return again

    def _next_behaviour(self) -> _Behaviour:
        with self._lock:
            now = _Behaviour(
                self._mode, self._status, self._answer, self._retry_after, self._release
            )
            if self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = "ok", None
            return now

    def handle(self, path: str, raw: bytes) -> tuple[int, str, dict[str, str], str, bool]:
        """(status, answer body, headers, key, acted) for one request, before misbehaving."""
        check = self._check_slack if self.kind == "slack" else self._check_pagerduty
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return check(path, body)

    def _check_slack(self, path: str, body: Any) -> tuple[int, str, dict[str, str], str, bool]:
        shown = (
            ALERT_ID.search(json.dumps(body.get("blocks", []))) if isinstance(body, dict) else None
        )
        key = shown.group(1) if shown else ""
        if path != SLACK_PATH + self.secret:
            return 404, "no_service", {}, key, False
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return 400, "invalid_payload", {}, key, False
        for block in body.get("blocks", []):
            fields = block.get("fields", [])
            too_long = (
                (block["type"] == "header" and len(block["text"]["text"]) > 150)
                or len(fields) > 10
                or any(len(f["text"]) > 2000 for f in fields)
                or len(block.get("text", {}).get("text", "")) > 3000
            )
            if too_long:
                return 400, "invalid_blocks", {}, key, False
        return 200, "ok", {}, key, True

    def _check_pagerduty(self, path: str, body: Any) -> tuple[int, str, dict[str, str], str, bool]:
        event = body if isinstance(body, dict) else {}
        action, dedup_key = event.get("event_action"), event.get("dedup_key", "")
        key = f"{dedup_key}/{action}"
        if path != PAGERDUTY_PATH:
            return 404, "", {}, key, False
        errors = []
        payload = event.get("payload") or {}
        if event.get("routing_key") != self.secret:
            errors.append("Invalid routing key")
        if action not in {"trigger", "acknowledge", "resolve"}:
            errors.append("'event_action' is invalid")
        if (action != "trigger" and not dedup_key) or len(dedup_key) > 255:
            errors.append("'dedup_key' is missing or too long")
        if action == "trigger" and not (
            0 < len(payload.get("summary", "")) <= 1024
            and payload.get("source")
            and payload.get("severity") in SEVERITIES
        ):
            errors.append("'payload' is invalid")
        if errors:
            answer = {"status": "invalid event", "message": "Event object is invalid"}
            return 400, json.dumps(answer | {"errors": errors}), _JSON, key, False
        answer = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        return 202, json.dumps(answer), _JSON, key, True


_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class _Behaviour:
    mode: str
    status: int
    answer: str
    retry_after: int | None
    release: threading.Event


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, answer, headers, key, acted = receiver.handle(self.path, raw)
            how = receiver._next_behaviour()
            if how.mode == "fail":  # refused before acting on it
                status, answer, headers, acted = how.status, how.answer, {}, False
                if how.retry_after is not None:
                    headers = {"Retry-After": str(how.retry_after)}
            elif how.mode == "hang":  # never processed
                acted = False
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            answered = 0 if how.mode in {"hang", "slow"} else status
            with receiver._lock:
                receiver.arrivals.append(Arrival(key, answered, acted, body))
            if how.mode in {"hang", "slow"}:
                how.release.wait(receiver.hang_seconds)
                if how.mode == "hang":
                    return  # drop it: the client gave up long ago
            self._answer(status, answer, headers)

        def _answer(self, status: int, answer: str, headers: dict[str, str]) -> None:
            data = answer.encode()
            try:
                self.send_response(status)
                for name, value in ({"Content-Type": "text/plain"} | headers).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client timed out and closed the connection
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(
    kind: Literal["slack", "pagerduty"], secret: str, hang_seconds: float = 5.0
) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (a free port); `receiver.url` is where to send."""
    receiver = Receiver(kind, secret, hang_seconds=hang_seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    receiver.url = base + (SLACK_PATH + secret if kind == "slack" else PAGERDUTY_PATH)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{kind}-receiver"
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver.recover()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
