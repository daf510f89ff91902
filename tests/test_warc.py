"""WARC files (fetching/warc.py): HTML responses come out byte-exact, everything else is skipped and counted, and
broken input is a reject naming its offset, never an exception; memory stays flat on a large record."""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from fetching.warc import WarcCounts, WarcReject, WarcResponse, could_match, parse_warc_date, read_warc

pytestmark = pytest.mark.pure

DATE = "2022-03-05T10:20:30Z"
PAGES = {  # charset: body in that charset
    "utf-8": "<html><head><title>Станция</title></head><body><p>Российский сегмент МКС.</p></body></html>",
    "windows-1251": "<html><body><p>Роскосмос показал видео расстыковки.</p></body></html>",
    "shift_jis": "<html><body><p>国際宇宙ステーションのロシア区画。</p></body></html>",
    "iso-8859-1": "<html><body><p>La station spatiale, côté russe, déjà.</p></body></html>",
}


def http_response(
    writer: WARCWriter,
    uri: str,
    body: bytes,
    content_type: str = "text/html; charset=utf-8",
    status: str = "200 OK",
    extra: list[tuple[str, str]] = (),
):
    headers = StatusAndHeaders(status, [("Content-Type", content_type), *extra], protocol="HTTP/1.1")
    return writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": DATE}
    )


def record_bytes(make, gzip_member: bool = True) -> bytes:
    """One record as warcio writes it (its own gzip member, or plain)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip_member)
    writer.write_record(make(writer))
    return out.getvalue()


def page_record(uri: str, body: bytes = b"<html><body><p>Undocking today.</p></body></html>", **kw):
    return lambda writer: http_response(writer, uri, body, **kw)


def items(source, **kw) -> tuple[list[WarcResponse], list[WarcReject], WarcCounts]:
    counts = WarcCounts()
    out = list(read_warc(source, counts=counts, **kw))
    return (
        [i for i in out if isinstance(i, WarcResponse)],
        [i for i in out if isinstance(i, WarcReject)],
        counts,
    )


@pytest.fixture
def mixed_warc(tmp_path: Path) -> Path:
    """Responses in four charsets, a request, metadata, revisit and warcinfo record, a PDF and a 404."""
    path = tmp_path / "mixed.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record("mixed.warc.gz", {"software": "tests"}))
        for number, (charset, text) in enumerate(PAGES.items()):
            body = text.encode(charset)
            uri = f"https://news.example/{charset}/{number}.html"
            writer.write_record(http_response(writer, uri, body, f"text/html; charset={charset}"))
        request = StatusAndHeaders("GET /a.html HTTP/1.1", [("Host", "news.example")], is_http_request=True)
        writer.write_record(writer.create_warc_record("https://news.example/a.html", "request", http_headers=request))
        writer.write_record(
            writer.create_warc_record(
                "https://news.example/a.html",
                "metadata",
                payload=io.BytesIO(b"fetchTimeMs: 12\r\n"),
                warc_content_type="application/warc-fields",
            )
        )
        writer.write_record(
            writer.create_revisit_record(
                "https://news.example/a.html", "sha1:AAAA", "https://news.example/a.html", DATE
            )
        )
        writer.write_record(http_response(writer, "https://news.example/a.pdf", b"%PDF-1.7", "application/pdf"))
        writer.write_record(
            http_response(writer, "https://news.example/gone.html", b"<p>no</p>", status="404 Not Found")
        )
    return path


def test_read_warc_responses_byte_exact_in_every_charset(mixed_warc: Path):
    responses, rejects, counts = items(mixed_warc)
    assert rejects == []
    assert [r.body for r in responses] == [text.encode(charset) for charset, text in PAGES.items()]
    assert [r.charset for r in responses] == list(PAGES)
    first = responses[0]
    assert first.target_uri == "https://news.example/utf-8/0.html"
    assert first.warc_date == datetime(2022, 3, 5, 10, 20, 30)
    assert first.record_id.startswith("<urn:uuid:")
    assert first.status == 200
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert first.content_type == "text/html"
    assert first.offset > 0  # after the warcinfo record
    assert counts.responses == 4


def test_read_warc_skips_and_counts_other_records(mixed_warc: Path):
    _, _, counts = items(mixed_warc)
    assert dict(counts.skipped) == {
        "warcinfo": 1,
        "request": 1,
        "metadata": 1,
        "revisit": 1,
        "not_html": 1,
        "not_200": 1,
    }


def test_read_warc_file_object_and_uncompressed(tmp_path: Path):
    plain = b"".join(record_bytes(page_record(f"https://a.example/{i}.html"), gzip_member=False) for i in range(3))
    path = tmp_path / "plain.warc"
    path.write_bytes(plain)
    with open(path, "rb") as fh:
        responses, rejects, _ = items(fh)
    assert [r.target_uri for r in responses] == [f"https://a.example/{i}.html" for i in range(3)]
    assert rejects == []


def test_read_warc_content_encoding_undone(tmp_path: Path):
    body = b"<html><body><p>Russian segment.</p></body></html>"
    make = page_record("https://a.example/z.html", gzip.compress(body), extra=[("Content-Encoding", "gzip")])
    path = tmp_path / "encoded.warc.gz"
    path.write_bytes(record_bytes(make))
    responses, _, _ = items(path)
    assert [r.body for r in responses] == [body]


def test_read_warc_chunked_and_deflate_bodies(tmp_path: Path):
    body = b"<html><body><p>Undocking at dawn.</p></body></html>"
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:20], body[20:])) + b"0\r\n\r\n"
    deflated = zlib.compress(body)
    path = tmp_path / "encodings.warc.gz"
    path.write_bytes(
        record_bytes(page_record("https://a.example/c.html", chunked, extra=[("Transfer-Encoding", "chunked")]))
        + record_bytes(page_record("https://a.example/d.html", deflated, extra=[("Content-Encoding", "deflate")]))
        + record_bytes(page_record("https://a.example/b.html", b"\x00" * 10, extra=[("Content-Encoding", "br")]))
    )
    responses, rejects, _ = items(path)
    assert [r.body for r in responses] == [body, body]
    assert [r.reject.reason for r in rejects] == ["bad_encoding"]


def test_read_warc_target_uri_parsed(tmp_path: Path):
    path = tmp_path / "urls.warc.gz"
    path.write_bytes(
        record_bytes(page_record("https://user:secret@a.example/1.html"))
        + record_bytes(page_record("https://exa mple/2.html"))
        + record_bytes(page_record("ftp://a.example/3.html"))
    )
    responses, rejects, counts = items(path)
    assert [r.target_uri for r in responses] == ["https://a.example/1.html"]
    assert [r.reject.reason for r in rejects] == ["bad_url"]
    assert counts.skipped["not_http"] == 1  # warcio reads no HTTP head for an ftp: record
    assert all("secret" not in repr(item) for item in responses + rejects)


def test_read_warc_too_large_is_a_reject_and_reading_goes_on(tmp_path: Path):
    path = tmp_path / "big.warc.gz"
    path.write_bytes(
        record_bytes(page_record("https://a.example/big.html", b"<p>" + b"x" * 5000 + b"</p>"))
        + record_bytes(page_record("https://a.example/small.html"))
    )
    responses, rejects, _ = items(path, max_bytes=1000)
    assert [r.target_uri for r in responses] == ["https://a.example/small.html"]
    assert [(r.reject.reason, r.offset, r.target_uri) for r in rejects] == [
        ("too_large", 0, "https://a.example/big.html")
    ]
    assert rejects[0].reject.detail.startswith("offset 0:")


def test_read_warc_truncated_file(tmp_path: Path):
    whole = b"".join(record_bytes(page_record(f"https://a.example/{i}.html")) for i in range(3))
    for cut in (40, 300):  # inside the last record's body, inside its header
        path = tmp_path / f"cut{cut}.warc.gz"
        path.write_bytes(whole[: len(whole) - cut])
        responses, rejects, _ = items(path)
        assert len(responses) == 2
        assert [r.reject.reason for r in rejects] == ["truncated_warc"], cut
        assert f"offset {rejects[0].offset}:" in rejects[0].reject.detail
    plain = b"".join(record_bytes(page_record(f"https://a.example/{i}.html"), gzip_member=False) for i in range(2))
    path = tmp_path / "cut.warc"
    path.write_bytes(plain[:-20])
    responses, rejects, _ = items(path)
    assert (len(responses), [r.reject.reason for r in rejects]) == (1, ["truncated_warc"])


def test_read_warc_gzip_that_is_not_a_warc(tmp_path: Path):
    path = tmp_path / "page.warc.gz"
    path.write_bytes(gzip.compress(b"<html><body>not an archive</body></html>\n" * 50))
    responses, rejects, _ = items(path)
    assert responses == []
    assert [(r.reject.reason, r.offset) for r in rejects] == [("bad_warc", 0)]
    assert rejects[0].reject.detail.startswith("offset 0:")


def test_read_warc_empty_and_blank_input():
    assert items(io.BytesIO(b""))[:2] == ([], [])
    assert items(io.BytesIO(b"\r\n\r\n"))[:2] == ([], [])


def wrong_length(delta: int) -> bytes:
    """A gzip member whose record declares `delta` more bytes than it holds."""
    plain = record_bytes(page_record("https://a.example/wrong.html"), gzip_member=False)
    head, _, rest = plain.partition(b"\r\n\r\n")
    lines = [
        f"Content-Length: {int(line.split(b':')[1]) + delta}".encode() if line.startswith(b"Content-Length:") else line
        for line in head.split(b"\r\n")
    ]
    return gzip.compress(b"\r\n".join(lines) + b"\r\n\r\n" + rest)


@pytest.mark.parametrize("delta", [40, -12])
def test_read_warc_wrong_content_length(tmp_path: Path, delta: int):
    path = tmp_path / "wrong.warc.gz"
    first = record_bytes(page_record("https://a.example/1.html"))
    path.write_bytes(first + wrong_length(delta) + record_bytes(page_record("https://a.example/3.html")))
    responses, rejects, _ = items(path)
    assert [r.target_uri for r in responses] == ["https://a.example/1.html", "https://a.example/3.html"]
    assert [(r.reject.reason, r.offset, r.target_uri) for r in rejects] == [
        ("bad_length", len(first), "https://a.example/wrong.html")
    ]


def corrupt_file(tmp_path: Path) -> tuple[Path, int]:
    first = record_bytes(page_record("https://a.example/1.html"))
    broken = bytearray(record_bytes(page_record("https://a.example/2.html")))
    broken[20:40] = b"\xff" * 20  # inside the deflate stream: the member cannot be decompressed
    path = tmp_path / "corrupt.warc.gz"
    path.write_bytes(first + bytes(broken) + record_bytes(page_record("https://a.example/3.html")))
    return path, len(first)


def test_read_warc_corrupt_gzip_member_resumes_at_next_record(tmp_path: Path):
    path, offset = corrupt_file(tmp_path)
    responses, rejects, _ = items(path)
    assert [r.target_uri for r in responses] == ["https://a.example/1.html", "https://a.example/3.html"]
    assert [(r.reject.reason, r.offset) for r in rejects] == [("bad_warc", offset)]
    assert rejects[0].reject.detail.startswith(f"offset {offset}:")


def test_read_warc_corrupt_member_in_a_pipe_stops_there(tmp_path: Path):
    path, offset = corrupt_file(tmp_path)

    class Pipe(io.RawIOBase):  # a stream that cannot seek (stdin, a download)
        def __init__(self, data: bytes):
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    responses, rejects, _ = items(io.BufferedReader(Pipe(path.read_bytes())))
    assert [r.target_uri for r in responses] == ["https://a.example/1.html"]
    assert [(r.reject.reason, r.offset) for r in rejects] == [("bad_warc", offset)]


def test_read_warc_memory_flat_on_a_large_record(tmp_path: Path):
    large = b"<html><body><p>" + os.urandom(6_000_000).hex().encode() + b"</p></body></html>"  # 12 MB, stored
    bomb = gzip.compress(b"<p>Russian segment undocking.</p>" * 1_000_000)  # 33 MB once decompressed, 0.1 MB sent
    path = tmp_path / "large.warc.gz"
    path.write_bytes(
        record_bytes(page_record("https://a.example/large.html", large))
        + record_bytes(page_record("https://a.example/bomb.html", bomb, extra=[("Content-Encoding", "gzip")]))
        + record_bytes(page_record("https://a.example/small.html"))
    )
    del large, bomb
    tracemalloc.start()
    try:
        responses, rejects, _ = items(path, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(r.reject.reason, r.target_uri) for r in rejects] == [
        ("too_large", "https://a.example/large.html"),
        ("too_large", "https://a.example/bomb.html"),
    ]
    assert [r.target_uri for r in responses] == ["https://a.example/small.html"]
    assert peak < 3_000_000  # the cap (1 MB) and read buffers, never a whole body


def test_read_warc_bad_arguments_fail_fast():
    with pytest.raises(ValueError, match="max_bytes"):
        list(read_warc(io.BytesIO(b""), max_bytes=0))
    with pytest.raises(TypeError):
        list(read_warc(42))


def test_parse_warc_date_forms():
    assert parse_warc_date("2022-03-05T10:20:30Z") == datetime(2022, 3, 5, 10, 20, 30)
    assert parse_warc_date("2022-03-05T10:20:30.123456Z") == datetime(2022, 3, 5, 10, 20, 30, 123456)
    assert parse_warc_date("2022-03-05T12:20:30+02:00") == datetime(2022, 3, 5, 10, 20, 30)
    assert parse_warc_date("yesterday") is None
    assert parse_warc_date(None) is None


def test_read_warc_keywords_skip_records_before_their_url_is_parsed(tmp_path: Path):
    path = tmp_path / "keywords.warc.gz"
    path.write_bytes(
        record_bytes(page_record("https://a.example/1.html", b"<p>The UNDOCKING went well.</p>"))
        + record_bytes(page_record("https://a.example/2.html", b"<p>Budget talks.</p>"))
        + record_bytes(page_record("https://exa mple/3.html", b"<p>Budget talks.</p>"))  # skipped, not a bad_url
    )
    responses, rejects, counts = items(path, keywords=[b"undocking", b"roscosmos"])
    assert [r.target_uri for r in responses] == ["https://a.example/1.html"]
    assert rejects == []
    assert counts.skipped["no_keyword"] == 2
    with pytest.raises(ValueError, match="lowercased"):
        list(read_warc(path, keywords=[b"Undocking"]))


def test_read_warc_hosts_skip_records_before_their_body_is_read(tmp_path: Path):
    """Another host's page is `other_host` even when it holds a keyword or is over the size limit (its body is
    never read); a subdomain of a wanted host is kept."""
    path = tmp_path / "hosts.warc.gz"
    path.write_bytes(
        record_bytes(page_record("https://www.News.example/1.html"))
        + record_bytes(page_record("https://other.example/2.html"))
        + record_bytes(page_record("https://other.example/3.html", b"<p>" + b"x" * 5000 + b"</p>"))
        + record_bytes(page_record("https://news.example.org/4.html"))
    )
    responses, rejects, counts = items(path, hosts={"news.example"}, keywords=[b"undocking"], max_bytes=4000)
    assert [r.target_uri for r in responses] == ["https://www.news.example/1.html"]
    assert rejects == [] and counts.skipped["other_host"] == 3 and counts.skipped["no_keyword"] == 0


def test_could_match_ascii_keywords_any_case():
    body = b"<html><p>The crew closed the hatch to the Russian <b>Segment</b>.</p>"
    assert could_match(body, [b"undocking", b"russian"])
    assert not could_match(body, [b"undocking", b"roscosmos"])
    assert not could_match(body, [])


def test_could_match_phrase_words_all_required():
    body = b"<p>The Russian\n<b>Segment</b> of the station.</p>"
    assert could_match(body, [(b"russian", b"segment")])
    assert not could_match(b"<p>A Russian official.</p>", [(b"russian", b"segment"), b"undocking"])
    assert could_match(b"<p>A Russian official.</p>", [(b"russian", b"segment"), b"official"])
    assert could_match("<p>РОСКОСМОС и МКС</p>".encode(), [("роскосмос".encode(), "мкс".encode())])


def test_could_match_non_ascii_keywords():
    text = "<p>РОСКОСМОС показал видео</p>"
    assert could_match(text.encode("utf-8"), ["роскосмос".encode()])
    assert not could_match("<p>Другая новость</p>".encode(), ["роскосмос".encode()])
    assert could_match(text.encode("windows-1251"), ["роскосмос".encode()])  # cannot rule out: not UTF-8
    assert could_match(b"<p>&#1056;&#1086;</p>", ["роскосмос".encode()])  # character references


def test_could_match_cannot_rule_out_unsearchable_bodies():
    assert could_match(gzip.compress(b"undocking"), [b"roscosmos"])
    assert could_match("undocking".encode("utf-16"), [b"roscosmos"])


def test_could_match_rejects_bad_patterns():
    with pytest.raises(ValueError, match="lowercased"):
        could_match(b"x", [b"Russian"])
    with pytest.raises(ValueError):
        could_match(b"x", [b""])
    with pytest.raises(ValueError):
        could_match(b"x", b"russian")
    with pytest.raises(ValueError):
        could_match(b"x", [(b"russian", b"Segment")])
