"""A loopback HTTP server standing in for an alert's webhook: it records every POST (path, JSON body, time)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers.route_server import serving


@dataclass(frozen=True)
class Call:
    path: str
    content_type: str | None
    body: dict
    at: float  # time.time() when it arrived


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.calls: list[Call] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]

    def wait_for(self, path: str, count: int, seconds: float) -> list[Call]:
        """The calls to `path` once there are `count` (polling up to `seconds`; fewer if the time ran out)."""
        deadline = time.monotonic() + seconds
        while len(self.calls_to(path)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.calls_to(path)


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", errors="replace")}
        self.server.calls.append(Call(self.path, self.headers.get("Content-Type"), body, time.time()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def run_webhook_server() -> Iterator[WebhookServer]:
    with serving(WebhookServer()) as server:
        yield server
