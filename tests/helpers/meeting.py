"""A loopback page server where concurrent runs meet: each run fetches one of its pages, and no page is answered
until all have been asked for, so the runs are all in progress at that moment however long each process took
to start (timing alone once let a "concurrent" run start after the other had finished)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class MeetingPoint(ThreadingHTTPServer):
    """Serves `pages` (path -> HTML). While `meeting` is set, a page's answer waits (up to 240 s) until every
    page has been asked for; a fetch that times out meanwhile is retried and answered once all have met. Clear
    `meeting` to answer at once (runs one after the other). Anything else (robots.txt) is a 404. Serve it with
    tests.helpers.route_server.serving."""

    daemon_threads = True

    def __init__(self, pages: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _MeetingHandler)
        self.pages = pages
        self.meeting = threading.Event()
        self.meeting.set()
        self.met = threading.Event()
        self.asked: set[str] = set()
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def server_close(self) -> None:
        self.met.set()  # no handler thread waits past the server
        super().server_close()


class _MeetingHandler(BaseHTTPRequestHandler):
    server: MeetingPoint

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        page = self.server.pages.get(self.path)
        if page is not None and self.server.meeting.is_set():
            with self.server.lock:
                self.server.asked.add(self.path)
                if self.server.asked == set(self.server.pages):
                    self.server.met.set()
            self.server.met.wait(timeout=240)
        self.send_response(200 if page is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page or b"")))
        self.end_headers()
        self.wfile.write(page or b"")

    def log_message(self, *args) -> None:
        pass
