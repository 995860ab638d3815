"""A loopback stand-in for the Metaflow metadata service and its migration service.

SPEC: the real service (Netflix/metaflow-service) is not installable here — it is not on the
package registries and ships as a container image with goose and several virtualenvs — so the
doctor tests talk to this stand-in, which answers the routes the check reads exactly as the
service documents them (../shared/reference/metaflow.md §1.4, metaflow-service 2.5.x):

- metadata API (8080 in production): `GET /ping` -> 200 `pong` with a `METADATA_SERVICE_VERSION`
  header; `GET /version` -> the version as text; `GET /healthcheck` -> `SELECT 1` against the
  database: 200 `{"status": "UP"}`, or 500 when the database is unreachable;
- migration service (8082): `GET /db_schema_status` -> 200 `{"is_up_to_date",
  "current_version", "migration_in_progress", "db_schema_versions", "unapplied_migrations"}`.

Switches, flipped on the running server: `db_down` (the service has lost its database),
`schema_behind` (migrations left to apply), `slow_seconds` (every answer is that late).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "2.5.1"
# goose versions of the service's migration files, oldest first (as /db_schema_status lists them)
SCHEMA_VERSIONS = ["20201002000616", "20240509201906", "20260615000000", "20260912191955"]


@dataclass
class MetadataServiceStandIn:
    url: str = ""
    migration_url: str = ""
    db_down: bool = False
    schema_behind: bool = False
    slow_seconds: float = 0.0
    requests: list[str] = field(default_factory=list)

    def answer(self, port_kind: str, path: str) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(f"{port_kind} {path}")
        if self.slow_seconds:
            time.sleep(self.slow_seconds)
        if port_kind == "metadata":
            if path == "/ping":
                return 200, {"METADATA_SERVICE_VERSION": VERSION}, b"pong"
            if path == "/version":
                return 200, {}, VERSION.encode()
            if path == "/healthcheck":
                if self.db_down:  # the pool cannot connect: aiohttp turns the error into a 500
                    return 500, {}, b"500 Internal Server Error\n\nServer got itself in trouble"
                return 200, {}, json.dumps({"status": "UP"}).encode()
        elif path == "/db_schema_status":
            current = SCHEMA_VERSIONS[1] if self.schema_behind else SCHEMA_VERSIONS[-1]
            unapplied = SCHEMA_VERSIONS[SCHEMA_VERSIONS.index(current) + 1 :]
            body: dict[str, Any] = {
                "is_up_to_date": not unapplied,
                "current_version": current,
                "migration_in_progress": False,
                "db_schema_versions": SCHEMA_VERSIONS,
                "unapplied_migrations": unapplied,
            }
            return 200, {}, json.dumps(body).encode()
        return 404, {}, b"404: Not Found"


def _handler(service: MetadataServiceStandIn, port_kind: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = service.answer(port_kind, self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def metadata_service() -> Iterator[MetadataServiceStandIn]:
    """Both APIs on free loopback ports, each in its own thread; shut down on exit."""
    service = MetadataServiceStandIn()
    servers = [
        ThreadingHTTPServer(("127.0.0.1", 0), _handler(service, kind))
        for kind in ("metadata", "migration")
    ]
    for server in servers:
        server.daemon_threads = True
    service.url = f"http://127.0.0.1:{servers[0].server_address[1]}"
    service.migration_url = f"http://127.0.0.1:{servers[1].server_address[1]}"
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield service
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
