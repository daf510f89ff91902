"""Hostile inputs for tests/test_hostile_inputs.py: files generated in a folder, and a raw HTTP server for the
faults a well-behaved server never produces (Content-Length lies, resets mid-body, garbage, silence).

Each kind says what a run must make of it: ``reject:<reason>`` (exactly one `rejects` row with that reason) or
``loaded`` (an article; the input is odd but readable). Nothing is committed to the repository but this
generator: the 50 MB page and the bombs are written at test time.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import os
import random
import socket
import socketserver
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
_SUBJECTS = ("Flight controllers", "Station managers", "Orbital analysts", "Crew members", "Propulsion engineers")
_VERBS = ("reviewed", "questioned", "rehearsed", "documented", "postponed", "analysed")
_OBJECTS = ("the reboost schedule", "the Soyuz return", "the cargo manifest", "spacewalk plans", "the undocking video")


@dataclass(frozen=True)
class Kind:
    """One kind of hostile input: where it is (a file name or a URL path) and the outcome a run must give."""

    name: str
    location: str
    expected: str  # "reject:<reason>", "loaded" (odd but readable), "listing" (no row of its own), "good" (control)


def article_html(seed: int, title: str | None = None, extra_head: str = "", extra_body: str = "") -> str:
    """A readable news page whose text is its own (seeded), so no two generated articles are duplicates."""
    rng = random.Random(seed)
    paragraphs = [
        " ".join(
            f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} on day {rng.randint(1, 9999)}."
            for _ in range(6)
        )
        for _ in range(5)
    ]
    title = title or f"Station report number {seed}: crews and controllers after the Roscosmos clip"
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{extra_head}</head>'
        f"<body><main><article><h1>{title}</h1>{extra_body}{body}</article></main></body></html>"
    )


def article_text(seed: int) -> str:
    html = article_html(seed)
    start = html.index("<p>")
    return f"Plain report {seed}\n\n" + html[start:].replace("<p>", "").replace("</p>", "\n\n").split("</article>")[0]


@functools.cache
def gzip_bomb(inflated: int) -> bytes:
    """gzip of `inflated` zero bytes, compressed in 1 MiB steps (about 1,000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk, parts = bytes(1 << 20), []
    for _ in range(inflated >> 20):
        parts.append(packer.compress(chunk))
    return b"".join([*parts, packer.flush()])


def write_hostile_files(root: Path) -> list[Kind]:
    """Write the file kinds into `root`/corpus (a folder to ingest whole) and return them, with locations relative
    to `root`; the paths to name one by one (an unsupported type, a missing file, a dangling link) sit in `root`."""
    folder = root / "corpus"
    folder.mkdir(parents=True)
    good = article_html(1)
    files: dict[str, tuple[bytes, str]] = {
        "empty.txt": (b"", "reject:empty"),
        "whitespace.html": (b" \n\t\r\n" * 100, "reject:empty"),
        "png-named-html.html": (PNG + bytes(range(256)) * 4, "reject:binary"),
        "random-bytes.txt": (random.Random(7).randbytes(64_000), "reject:binary"),
        "truncated.html.gz": (gzip.compress(good.encode())[:-40], "reject:bad_gzip"),
        "bomb.html.gz": (gzip_bomb(256 << 20), "reject:too_large"),
        "50mb.html": (
            (good[: good.index("</article>")] + "<p>Filler paragraph about the station.</p>\n" * 1_200_000).encode(),
            "reject:too_large",
        ),
        "5000-nested-tables.html": (("<table><tr><td>" * 5_000 + good).encode(), "loaded"),  # nesting flattened
        "deeply-nested.html": (("<div>" * 100_000 + good + "</div>" * 100_000).encode(), "loaded"),
        "only-scripts.html": (
            ("<html><head><script>var a = 1;</script></head><body>" + "<script>track();</script>" * 5000).encode(),
            "reject:no_text",
        ),
        "only-comments.html": (b"<html><body><!-- " + b"hidden " * 5000 + b"--></body></html>", "reject:no_text"),
        # Mostly UTF-8 with a few bad bytes: read with U+FFFD for them (browsers and trafilatura read these).
        "invalid-utf8.txt": (article_text(2).encode() + b"\xc3\x28\xff\xfe" + "caf\u00e9 ".encode() * 50, "loaded"),
        "mixed-encodings.txt": (
            "Caf\u00e9 r\u00e9sum\u00e9 na\u00efve ".encode() * 20
            + "ferm\u00e9 l'\u00e9coutille ".encode("cp1252") * 3,
            "loaded",
        ),
        "one-bad-byte.html": (article_html(13).encode().replace(b"<p>", b"<p>\xff", 1), "loaded"),
        # As many broken sequences as good ones: no reading of it is right.
        "broken-utf8.txt": ("Caf\u00e9 r\u00e9sum\u00e9 ".encode() * 20 + b"d\xc3\x28y " * 40, "reject:undecodable"),
        "cp1252-undeclared.txt": (
            ("Le segment russe quitte la station \u2014 l'\u00e9quipage a film\u00e9 la sc\u00e8ne. " * 30).encode(
                "cp1252"
            ),
            "loaded",
        ),
        "nul-bytes.html": (good.replace(" ", "\x00 ").encode(), "reject:binary"),
        "utf16-without-bom.html": (good.encode("utf-16-le"), "loaded"),  # the NUL pattern says UTF-16LE
        "utf16-be-without-bom.html": (article_html(14).encode("utf-16-be"), "loaded"),
        "utf32-le-without-bom.html": (article_html(15).encode("utf-32-le"), "loaded"),
        "meta-utf16-on-ascii.html": (article_html(16, extra_head='<meta charset="utf-16">').encode(), "loaded"),
        "multi-member.html.gz": (  # `cat a.gz b.gz`: both members' text is the document's
            gzip.compress(article_html(17).encode()[:900]) + gzip.compress(article_html(17).encode()[900:]),
            "loaded",
        ),
        "bom-only.txt": (codecs.BOM_UTF8, "reject:empty"),
        "emoji-only.txt": (("\U0001f680\U0001f6f0\ufe0f " * 200).encode(), "reject:no_text"),
        "svg-with-script.html": (
            article_html(18, extra_body="<svg><script>alert(1)</script><text>logo</text></svg>").encode(),
            "loaded",
        ),
        "utc-offset.html": (
            article_html(
                19, extra_head='<meta property="article:published_time" content="2022-03-05T10:00:00-03:00">'
            ).encode(),
            "loaded",
        ),
        "entity-bomb.html": (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><html><body><p>&c;&c;&c;&c;</p></body></html>',
            "reject:bad_html",
        ),
        # Odd but readable: these load, and the oddity is handled.
        "few-nul-bytes.html": (good.replace("day", "da\x00y", 2).encode(), "loaded"),  # NULs dropped
        "surrogates.html": (  # lone surrogates as entities and as UTF-8 bytes become U+FFFD
            article_html(3, extra_body="<p>Bad &#xD800; entity and \udc80 byte.</p>").encode("utf-8", "surrogatepass"),
            "loaded",
        ),
        "one-mb-line.txt": (" ".join(random.Random(4).choice(_OBJECTS) for _ in range(80_000)).encode(), "loaded"),
        "huge-title.html": (article_html(5, title="Huge title " * 20_000).encode(), "loaded"),
        "bogus-charset.html": (article_html(6, extra_head='<meta charset="x-klingon">').encode(), "loaded"),
        "control-and-bidi.html": (
            article_html(
                8, extra_body="<p>Escape \x1b[31m codes, a bell \x07 and \u202eright-to-left\u202c.</p>"
            ).encode(),
            "loaded",
        ),
        "utf32-with-bom.html": (article_html(9).encode("utf-32"), "loaded"),
        "good-1.html": (article_html(10).encode(), "good"),
        "good-2.txt": (article_text(11).encode(), "good"),
        "good-3.html.gz": (gzip.compress(article_html(12).encode()), "good"),
    }
    for name, (raw, _) in files.items():
        (folder / name).write_bytes(raw)
    (root / "report.docx").write_bytes(b"PK\x03\x04 not a document we read")
    (root / "dangling.html").symlink_to(root / "gone.html")
    # Links that leave the folder, loops and special files: rejects keyed by the path as found, never a hang.
    outside = root / "outside"
    (outside / "more").mkdir(parents=True)
    (outside / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (outside / "more" / "b.html").write_bytes(article_html(30).encode())
    (folder / "passwd.txt").symlink_to(outside / "passwd.txt")
    (folder / "more").symlink_to(outside / "more", target_is_directory=True)
    (folder / "loop-a.html").symlink_to(folder / "loop-b.html")
    (folder / "loop-b.html").symlink_to(folder / "loop-a.html")
    os.mkfifo(folder / "pipe.html")
    os.mkfifo(root / "named-pipe.html")
    (root / "zero.html").symlink_to("/dev/zero")
    (root / "mem.html").symlink_to("/proc/self/mem")
    kinds = [Kind(name, f"corpus/{name}", expected) for name, (_, expected) in files.items()]
    kinds += [
        Kind("unsupported type named", "report.docx", "reject:unsupported_type"),
        Kind("missing path", "missing.html", "reject:not_found"),
        Kind("dangling symlink", "dangling.html", "reject:not_found"),
        Kind("symlink to a file outside the folder", "corpus/passwd.txt", "reject:outside_root"),
        Kind("symlink to a folder outside the folder", "corpus/more", "reject:outside_root"),
        Kind("symlink loop (first)", "corpus/loop-a.html", "reject:unreadable"),
        Kind("symlink loop (second)", "corpus/loop-b.html", "reject:unreadable"),
        Kind("FIFO in the folder", "corpus/pipe.html", "reject:unsupported_type"),
        Kind("FIFO named", "named-pipe.html", "reject:unsupported_type"),
        Kind("link to /dev/zero named", "zero.html", "reject:unsupported_type"),
        Kind("link to /proc/self/mem named", "mem.html", "reject:unreadable"),
    ]
    return kinds


# --- the raw server ---

# A sitemap <loc> and a feed link no fetcher may follow; the pages listed beside them must still load.
BAD_LOC = "http://[::1/bad-loc"
JS_LINK = "javascript:alert(1)"
# Pages a run reaches only through a listing (or, for /g5.html, through a URL with credentials).
LINKED_ONLY = ("/g1.html", "/g3.html", "/g4.html", "/g5.html")


_BIG = 50 * 1024 * 1024


def _response(status: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


class _Handler(socketserver.BaseRequestHandler):
    server: HostileServer

    def handle(self) -> None:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            data = self.request.recv(4096)
            if not data:
                return
            request += data
        path = request.split(b" ", 2)[1].decode("latin-1").split("?")[0]
        try:
            self.server.routes.get(path, _not_found)(self)
        except (ConnectionError, TimeoutError):
            pass  # the client gave up, as it should on most of these

    def send(self, data: bytes) -> None:
        self.request.sendall(data)


def _not_found(h: _Handler) -> None:
    h.send(_response("404 Not Found", b"", {"Content-Length": "0", "Connection": "close"}))


def _page(body: bytes, content_type: str | None = "text/html; charset=utf-8", **extra: str):
    def route(h: _Handler) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        headers |= {"Content-Length": str(len(body)), "Connection": "close", **extra}
        h.send(_response("200 OK", body, headers))

    return route


def _redirect(location: str):
    return lambda h: h.send(_response("302 Found", b"", {"Location": location, "Content-Length": "0"}))


def _raw(data: bytes):
    return lambda h: h.send(data)


def _length_short(h: _Handler) -> None:
    """Content-Length promises 50,000 bytes; 3,000 arrive and the connection closes."""
    body = article_html(20).encode()
    h.send(_response("200 OK", body[:3000], {"Content-Type": "text/html", "Content-Length": "50000"}))


def _length_long(h: _Handler) -> None:
    """Content-Length says 250 bytes; the whole page follows (a client must stop at 250)."""
    body = article_html(22).encode()
    h.send(_response("200 OK", body, {"Content-Type": "text/html", "Content-Length": "250", "Connection": "close"}))


def _reset_mid_body(h: _Handler) -> None:
    """Half the body, then a TCP reset (SO_LINGER 0)."""
    body = article_html(21).encode()
    h.send(_response("200 OK", body[: len(body) // 2], {"Content-Type": "text/html", "Content-Length": str(len(body))}))
    h.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    h.request.close()


def _chunked_50mb(h: _Handler) -> None:
    """50 MB of HTML, chunked (no Content-Length to refuse it by), sent until the client hangs up."""
    h.send(_response("200 OK", b"", {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}))
    chunk = b"<p>" + b"filler " * 9000 + b"</p>\n"
    sent = 0
    while sent < _BIG:
        h.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sent += len(chunk)
    h.send(b"0\r\n\r\n")


def _declared_50mb(h: _Handler) -> None:
    """A Content-Length of 50 MB, then the bytes, in 1 MB writes, until the client hangs up."""
    h.send(_response("200 OK", b"", {"Content-Type": "text/html", "Content-Length": str(_BIG)}))
    for _ in range(_BIG >> 20):
        h.send(b"<p>" + b"x" * ((1 << 20) - 3))


def _silent(h: _Handler) -> None:
    """Accept the request and never answer."""
    h.server.stopping.wait(60)


def _big_feed(h: _Handler) -> None:
    """100,000 items, every link a tracking-parameter variant of /g1.html: one article after normalization."""
    base = h.server.base_url
    items = "".join(f"<item><link>{base}/g1.html?utm_id={i}</link></item>" for i in range(100_000))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>{items}</channel></rss>'.encode()
    _page(body, "application/rss+xml")(h)


class HostileServer(socketserver.ThreadingTCPServer):
    """A raw HTTP/1.1 server on a loopback address; `kinds` lists its routes and their expected outcomes."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.base_url = f"http://{host}:{self.server_address[1]}"
        self.stopping = threading.Event()
        good = article_html(22).encode()
        packed = gzip.compress(good)
        table: list[tuple[str, object, str]] = [
            ("/g1.html", _page(article_html(23).encode()), "good"),  # only linked by /feed-100k.xml
            ("/g2.html", _page(article_html(24).encode()), "good"),
            ("/g3.html", _page(article_html(27).encode()), "good"),  # only listed by /sitemap-bad-loc.xml
            ("/g4.html", _page(article_html(28).encode()), "good"),  # only linked by /feed-javascript.xml
            ("/g5.html", _page(article_html(29).encode()), "good"),  # only listed with credentials in its URL
            (
                "/sitemap-bad-loc.xml",
                _page(
                    f'<?xml version="1.0"?><urlset><url><loc>{BAD_LOC}</loc></url>'
                    f"<url><loc>{self.base_url}/g3.html</loc></url></urlset>".encode(),
                    "application/xml",
                ),
                "listing",
            ),
            (
                "/feed-javascript.xml",
                _page(
                    f'<?xml version="1.0"?><rss version="2.0"><channel><title>js</title><item><link>{JS_LINK}</link>'
                    f"</item><item><link>{self.base_url}/g4.html</link></item></channel></rss>".encode(),
                    "application/rss+xml",
                ),
                "listing",
            ),
            ("/redirect-malformed.html", _redirect("http://[::1/x"), "reject:bad_url"),
            ("/redirect-to-file.html", _redirect("file:///etc/passwd"), "reject:unsupported_scheme"),
            ("/no-content-type.html", _page(article_html(25).encode(), None), "loaded"),
            ("/bogus-charset-header.html", _page(article_html(26).encode(), "text/html; charset=x-klingon"), "loaded"),
            ("/feed-100k.xml", _big_feed, "listing"),
            ("/empty.html", _page(b""), "reject:empty"),
            ("/png-as-html.html", _page(PNG + bytes(range(256)) * 4), "reject:binary"),
            ("/only-scripts.html", _page(b"<html><body>" + b"<script>x()</script>" * 2000), "reject:no_text"),
            (
                "/undecodable.html",
                _page(good.replace(b"day", b"d\xc3\x28y") + "\u00e9".encode() * 99),
                "reject:undecodable",
            ),
            ("/deeply-nested.html", _page(b"<div>" * 50_000 + good), "loaded"),
            ("/wrong-content-type.html", _page(good, "image/png"), "reject:not_html"),
            ("/length-short.html", _length_short, "reject:connect_error"),
            ("/length-long.html", _length_long, "reject:no_text"),
            ("/reset-mid-body.html", _reset_mid_body, "reject:connect_error"),
            (
                "/gzip-truncated.html",
                _page(packed[: len(packed) // 2], **{"Content-Encoding": "gzip"}),
                "reject:bad_encoding",
            ),
            (
                "/gzip-corrupt.html",
                _page(b"\x1f\x8b\x08\x00" + bytes(200), **{"Content-Encoding": "gzip"}),
                "reject:bad_encoding",
            ),
            ("/brotli.html", _page(good, **{"Content-Encoding": "br"}), "reject:bad_encoding"),
            ("/gzip-bomb.html", _page(gzip_bomb(256 << 20), **{"Content-Encoding": "gzip"}), "reject:too_large"),
            ("/declared-50mb.html", _declared_50mb, "reject:too_large"),
            ("/chunked-50mb.html", _chunked_50mb, "reject:too_large"),
            (
                "/huge-headers.html",
                _raw(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"j" * 200_000 + b"\r\n\r\n"),
                "reject:connect_error",
            ),
            ("/not-http.html", _raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n" + PNG), "reject:connect_error"),
            ("/silent.html", _silent, "reject:timeout"),
            (
                "/feed-malformed.xml",
                _page(b'<?xml version="1.0"?><rss version="2.0"><channel><item><link>http', "application/rss+xml"),
                "reject:bad_feed",
            ),
            (
                "/sitemap-malformed.xml",
                _page(b'<?xml version="1.0"?><urlset><<<>>>&&&\x00', "application/xml"),
                "reject:bad_sitemap",
            ),
        ]
        self.routes = {path: route for path, route, _ in table}
        self.routes["/robots.txt"] = _not_found
        self.kinds = [Kind(path.strip("/"), path, expected) for path, _, expected in table]

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
