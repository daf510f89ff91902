"""A small news site on 127.0.0.1 with a date-partitioned sitemap index (children by month and by day, one
per lastmod), a few articles of their own words (two with a monitor keyword) and one gone (410): the fixture
site of the history backfill (tests/test_history.py, tests/test_serve.py's browser test)."""

from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SYLLABLES = ("ka", "lo", "mer", "ti", "van", "su", "ro", "pel", "dai", "on", "gri", "beth", "us", "fen", "ia", "tor")


def article(n: int, extra: str = "") -> bytes:
    """An article of its own words (no two near-duplicates); `extra` is added as a paragraph (a keyword)."""
    rng = random.Random(f"history-{n}")
    word = lambda: "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))  # noqa: E731
    paragraphs = [" ".join(word() for _ in range(60)) + "." for _ in range(4)] + ([extra] if extra else [])
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>Bulletin {n}</title></head><body><article><h1>Bulletin {n}</h1>{body}</article>"
        "</body></html>"
    ).encode()


class NewsSite(ThreadingHTTPServer):
    """Sitemap index `/sitemap_index.xml` (children by month and by day, one per lastmod), a feed, articles
    `/2022/03/0D/N.html`, `/2022/03/05/gone.html` answering 410 and `/2022/03/05/moved.html` redirecting to the home
    page. Records the paths requested."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SiteHandler)
        self.requests: list[str] = []
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        b = self.base
        index = [
            ("/sitemap-2022-02.xml", "2022-02-28T10:00:00Z"),
            ("/sitemap-2022-03.xml", "2022-03-31T10:00:00Z"),
            ("/sitemap/2022/03/05.xml", "2022-03-06T02:00:00Z"),
            ("/sitemap/2022/03/06.xml", "2022-03-06T23:00:00Z"),
            ("/sitemap-static.xml", "2021-06-01T00:00:00Z"),
        ]
        entries = "".join(f"<sitemap><loc>{b}{p}</loc><lastmod>{m}</lastmod></sitemap>" for p, m in index)
        self.pages = {
            "/sitemap_index.xml": _xml(f'<sitemapindex xmlns="{NS}">{entries}</sitemapindex>'),
            "/sitemap-2022-03.xml": _urlset([(f"{b}/2022/03/05/1.html", None, "2022-03-05T08:00:00Z")]),
            "/sitemap/2022/03/05.xml": _urlset(
                [
                    (f"{b}/2022/03/05/2.html", "2022-03-05T09:30:00+01:00", None),
                    (f"{b}/2022/03/05/3.html", "2022-03-05T23:30:00-02:00", None),  # the 6th in UTC
                ]
            ),
            "/sitemap/2022/03/06.xml": _urlset([(f"{b}/2022/03/06/6.html", "2022-03-06T10:00:00Z", None)]),
            "/2022/03/06/6.html": article(6),
            "/2022/03/05/1.html": article(1, "The undocking went well."),
            "/2022/03/05/2.html": article(2),
            "/2022/03/05/3.html": article(3),
            "/2022/03/05/4.html": article(4, "Module separation confirmed."),
            "/": b"<html><head><title>News</title></head><body><a href='/2022/03/06/6.html'>Latest</a></body></html>",
        }
        self.moved = {"/2022/03/05/moved.html": "/"}  # an article taken down, its URL sent to the home page

    def __enter__(self) -> NewsSite:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def url(self, path: str) -> str:
        return self.base + path


NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"


def _xml(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()


def _urlset(rows: list[tuple[str, str | None, str | None]]) -> bytes:
    items = []
    for loc, published, lastmod in rows:
        news = f"<news:news><news:publication_date>{published}</news:publication_date></news:news>"
        items.append(
            f"<url><loc>{loc}</loc>{news if published else ''}"
            + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
            + "</url>"
        )
    return _xml(f'<urlset xmlns="{NS}" xmlns:news="{NEWS}">{"".join(items)}</urlset>')


class SiteHandler(BaseHTTPRequestHandler):
    server: NewsSite

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append(self.path)
        if self.path in self.server.moved:
            self.send_response(301)
            self.send_header("Location", self.server.moved[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/robots.txt" or self.path not in self.server.pages:
            status, body = (410, b"gone") if self.path.endswith("gone.html") else (404, b"not here")
            ctype = "text/plain"
        else:
            status, body = 200, self.server.pages[self.path]
            ctype = "application/xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
