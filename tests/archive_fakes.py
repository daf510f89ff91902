"""Fake web archives on 127.0.0.1 for tests/test_archives.py: a Wayback Machine (CDX JSON answers over generated
captures, raw playback, and its misbehaviours) and a CC-NEWS host (monthly `warc.paths.gz` listings and WARC files
written with warcio). Both are ThreadingHTTPServers on port 0; they record each request and its time."""

from __future__ import annotations

import gzip
import io
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

FEED = "https://news.example/feed.xml"
ARTICLE = "https://news.example/2022/03/05/undocking.html"
BROKEN = "broken.example/"  # the CDX query for this URL answers an HTML error page with status 200
REDIRECTED = "20220310060000"  # its playback redirects to TARGET, a capture the index does not list
TARGET = "20220310060500"
LOOPING = ("20220311060000", "20220311060100")  # each redirects to the other
OUTSIDE = "20220312060000"  # redirects to the live site (another host)
TOOLBAR = "20220313060000"  # redirects inside the archive, but to the toolbar page (no id_)


@dataclass(frozen=True)
class Capture:
    stamp: str
    original: str
    mimetype: str
    status: int
    digest: str
    body: bytes


def feed_body(day: date) -> bytes:
    items = "".join(f"<item><link>https://news.example/{day:%Y/%m/%d}/story-{n}.html</link></item>" for n in (1, 2))
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


def generated_captures() -> list[Capture]:
    """The feed twice a day from 2022-02-27 to 2022-04-02 (both captures of a day the same bytes: one digest), a
    404 capture, and one article."""
    captures = []
    day = date(2022, 2, 27)
    while day <= date(2022, 4, 2):
        body = feed_body(day)
        for hour in ("06", "18"):
            captures.append(Capture(f"{day:%Y%m%d}{hour}0000", FEED, "application/rss+xml", 200, f"D{day:%m%d}", body))
        day += timedelta(days=1)
    captures.append(Capture("20220306070000", FEED, "text/html", 404, "DNOTFOUND", b"gone"))
    article = b"<html><body><article><p>Undocking today.</p></article></body></html>"
    captures.append(Capture("20220305120000", ARTICLE, "text/html", 200, "DART", article))
    return sorted(captures, key=lambda c: (c.original, c.stamp))


class FakeWayback(ThreadingHTTPServer):
    """`/cdx/search/cdx` (output=json, fl, from/to, filter, collapse, limit, showResumeKey/resumeKey, matchType
    exact or prefix) and `/web/{timestamp}id_/{original}`. `throttle` answers that many next CDX requests with
    429 and Retry-After: 1. `outside` is where the OUTSIDE capture redirects."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WaybackHandler)
        self.captures = generated_captures()
        self.extra = {(TARGET, FEED): b"<rss><channel><item><link>https://news.example/target.html</link></item>"}
        self.throttle = 0
        self.outside = "http://127.0.0.1:9/elsewhere"
        self.requests: list[tuple[float, str]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def cdx_url(self) -> str:
        return f"{self.base_url}/cdx/search/cdx"

    @property
    def playback(self) -> str:
        return f"{self.base_url}/web"

    def paths(self, prefix: str) -> list[str]:
        return [path for _, path in self.requests if path.startswith(prefix)]

    def cdx(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        url = query.get("url", [""])[0]
        if url == BROKEN:
            return 200, {"Content-Type": "text/html"}, b"<html><body>Wayback Machine is busy</body></html>"
        bare = url.split("://", 1)[-1]
        prefix = query.get("matchType", ["exact"])[0] == "prefix"
        low = query.get("from", [""])[0].ljust(14, "0")
        high = query.get("to", ["9"])[0].ljust(14, "9")
        rows = []
        for c in self.captures:
            original = c.original.split("://", 1)[-1]
            if not (original.startswith(bare) if prefix else original == bare) or not low <= c.stamp <= high:
                continue
            row = {"timestamp": c.stamp, "original": c.original, "mimetype": c.mimetype, "statuscode": str(c.status)}
            row |= {"digest": c.digest, "urlkey": original, "length": str(len(c.body))}
            if all(row[f.split(":")[0]] == f.split(":", 1)[1] for f in query.get("filter", [])):
                rows.append(row)
        kept: list[dict] = []
        for row in rows:
            if kept and any(_same(kept[-1], row, spec) for spec in query.get("collapse", [])):
                continue
            kept.append(row)
        start = int(query.get("resumeKey", ["0"])[0])
        limit = int(query.get("limit", ["100000"])[0])
        page = kept[start : start + limit]
        fields = query.get("fl", ["urlkey,timestamp,original,mimetype,statuscode,digest,length"])[0].split(",")
        table: list[list[str]] = [fields, *([row[f] for f in fields] for row in page)]
        if query.get("showResumeKey") == ["true"] and start + limit < len(kept):
            table += [[], [str(start + limit)]]
        return 200, {"Content-Type": "text/plain"}, json.dumps(table).encode()

    def playback_answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        stamp, raw, original = path.removeprefix("/web/").partition("id_/")
        redirect = {REDIRECTED: TARGET, LOOPING[0]: LOOPING[1], LOOPING[1]: LOOPING[0]}
        if stamp in redirect:
            return 302, {"Location": f"/web/{redirect[stamp]}id_/{original}"}, b""
        if stamp == OUTSIDE:
            return 302, {"Location": self.outside}, b""
        if stamp == TOOLBAR:
            return 302, {"Location": f"/web/{stamp}/{original}"}, b""
        if not raw:  # no id_ flag: the page in the archive's toolbar, its links rewritten
            return 200, {"Content-Type": "text/html"}, b"<html><div id=wm-toolbar></div></html>"
        if (stamp, original) in self.extra:
            return 200, {"Content-Type": "application/rss+xml"}, self.extra[(stamp, original)]
        for c in self.captures:
            if c.stamp == stamp and c.original == original:
                return c.status, {"Content-Type": c.mimetype}, c.body
        return 404, {"Content-Type": "text/html"}, b"<html>not in the archive</html>"


def _same(a: dict, b: dict, spec: str) -> bool:
    field, _, length = spec.partition(":")
    size = int(length) if length else None
    return a[field][:size] == b[field][:size]


class _WaybackHandler(BaseHTTPRequestHandler):
    server: FakeWayback

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.requests.append((time.monotonic(), self.path))
        parts = urlsplit(self.path)
        if parts.path == "/cdx/search/cdx":
            if self.server.throttle > 0:
                self.server.throttle -= 1
                answer = 429, {"Retry-After": "1"}, b"slow down"
            else:
                answer = self.server.cdx(parse_qs(parts.query))
        elif self.path.startswith("/web/"):
            answer = self.server.playback_answer(self.path)
        else:
            answer = 404, {}, b"not here"
        status, headers, body = answer
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


# --- CC-NEWS -----------------------------------------------------------------------------------------------------

LISTED = {  # month -> file names listed (only some are served)
    "2022/02": ["CC-NEWS-20220227120000-00001.warc.gz", "CC-NEWS-20220228220000-00002.warc.gz"],
    "2022/03": [
        "CC-NEWS-20220301030000-00003.warc.gz",
        "CC-NEWS-20220301150000-00004.warc.gz",
        "CC-NEWS-20220302030000-00005.warc.gz",
        "CC-NEWS-20220305100000-00006.warc.gz",
        "CC-NEWS-20220331230000-00007.warc.gz",
    ],
}
NOT_GZIP_MONTH = "2022/05"  # its listing is plain text; 2022/04 has none (404)
SMALL_WARC = "crawl-data/CC-NEWS/2022/03/CC-NEWS-20220302030000-00005.warc.gz"
CUT_WARC = "crawl-data/CC-NEWS/2022/03/CC-NEWS-20220305100000-00006.warc.gz"
CUT_RECORDS = 20  # records in CUT_WARC; it is served cut at CUT_FRACTION of its bytes
CUT_FRACTION = 0.6
DATE = "2022-03-02T03:10:00Z"


def response_record(writer: WARCWriter, uri: str, body: bytes, status: str = "200 OK", content_type="text/html"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    return writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": DATE}
    )


def page(text: str, size: int = 0) -> bytes:
    filler = "".join(f"<p>Paragraph {n} of filler about the weather.</p>" for n in range(size // 48))
    return f"<html><body><article><p>{text}</p>{filler}</article></body></html>".encode()


def write_small_warc(path: Path) -> None:
    """Three news.example pages (one mentions undocking), two of other.example, a request and a 404."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        writer.write_record(response_record(writer, "https://news.example/a.html", page("Undocking of the module.")))
        writer.write_record(response_record(writer, "https://www.news.example/b.html", page("Rain in Oslo.")))
        writer.write_record(response_record(writer, "https://news.example/c.html", page("Football results.")))
        writer.write_record(response_record(writer, "https://other.example/d.html", page("Undocking elsewhere.")))
        writer.write_record(response_record(writer, "https://other.example/e.html", page("Markets.")))
        request = StatusAndHeaders("GET /a.html HTTP/1.1", [("Host", "news.example")], is_http_request=True)
        writer.write_record(writer.create_warc_record("https://news.example/a.html", "request", http_headers=request))
        writer.write_record(response_record(writer, "https://news.example/gone.html", b"gone", "404 Not Found"))


def write_warc(path: Path, records: int, body_size: int, compress: bool = True) -> None:
    """`records` news.example pages of about `body_size` bytes each, every tenth about undocking."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=compress)
        for n in range(records):
            text = f"Page {n}: " + ("Undocking of the module." if n % 10 == 0 else "Nothing to see.")
            writer.write_record(response_record(writer, f"https://news.example/p/{n}.html", page(text, body_size)))


class FakeCCNews(ThreadingHTTPServer):
    """Files under `root` served as they are (Range-less GETs, 64 KiB at a time, so a large file is never held);
    `cut` maps a path to the bytes sent before the connection closes, with the whole file's Content-Length; `busy`
    to how many next requests answer 503."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _CCNewsHandler)
        self.root = root
        self.cut: dict[str, int] = {}
        self.busy: dict[str, int] = {}  # path -> how many next GETs answer 503 with Retry-After: 0
        self.requests: list[str] = []
        for month, names in LISTED.items():
            listing = "".join(f"crawl-data/CC-NEWS/{month}/{name}\n" for name in names)
            self.add(f"crawl-data/CC-NEWS/{month}/warc.paths.gz", gzip.compress(listing.encode()))
        self.add(f"crawl-data/CC-NEWS/{NOT_GZIP_MONTH}/warc.paths.gz", b"crawl-data/CC-NEWS/2022/05/x.warc.gz\n")
        write_small_warc(self.path_of(SMALL_WARC))
        write_warc(self.path_of(CUT_WARC), CUT_RECORDS, 2000)
        self.cut[CUT_WARC] = int(self.path_of(CUT_WARC).stat().st_size * CUT_FRACTION)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def path_of(self, path: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add(self, path: str, data: bytes) -> None:
        self.path_of(path).write_bytes(data)


class _CCNewsHandler(BaseHTTPRequestHandler):
    server: FakeCCNews

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path.lstrip("/")
        self.server.requests.append(path)
        file = self.server.root / path
        if self.server.busy.get(path, 0) > 0:
            self.server.busy[path] -= 1
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"busy")
            return
        if not path or ".." in path or not file.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"not here")
            return
        size = file.stat().st_size
        left = self.server.cut.get(path, size)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(file, "rb") as fh:
            while left > 0 and (chunk := fh.read(min(1 << 16, left))):
                self.wfile.write(chunk)
                left -= len(chunk)
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass
