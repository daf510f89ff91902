"""A loopback HTTP server whose routes each test sets (listings and redirects the fixture site lacks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class RouteServer(ThreadingHTTPServer):
    """A loopback server with routes set by the test: path -> (status, headers, body); it records every
    request's headers. For what the fixture site does not serve (Location headers with credentials or broken
    hosts, listings with bad URLs)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RouteHandler)
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def headers_of(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.seen if seen == path]


class _RouteHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        status, headers, body = self.server.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Any of the tests' loopback servers, answering on a daemon thread until the block ends."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run_route_server() -> Iterator[RouteServer]:
    with serving(RouteServer()) as server:
        yield server


@pytest.fixture
def route_server() -> Iterator[RouteServer]:
    """A fresh route server for one test."""
    yield from run_route_server()
