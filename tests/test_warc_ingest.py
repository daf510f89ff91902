"""WARC files as ingest input (pipeline/warc.py): HTML responses load as fetched pages with their record's
provenance, other records are skipped, broken files are rejects beside the good ones, and a second ingest
changes nothing. Real WARC files written with warcio, real DuckDB."""

from __future__ import annotations

import gzip
import io
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from fetching.files import discover_documents
from pipeline.ingest import IngestRequest, IngestSteps, ingest_documents

pytestmark = pytest.mark.warehouse

DATE = datetime(2022, 3, 5, 10, 20, 30)
_SENTENCES = (
    "The Russian segment undocked in the Roscosmos video and drifted away from the station.",
    "Flight controllers in Houston said the clip was staged and no module had moved.",
    "Analysts compared the footage with earlier recordings of the Zvezda module.",
    "The agency's chief posted the video on a messaging channel late on Saturday.",
    "Crew members aboard the station continued their scheduled science work.",
)


def page(number: int) -> bytes:
    paragraphs = "".join(
        f"<p>Report {number}, part {part}: {' '.join(_SENTENCES[(number + part + i) % 5] for i in range(4))}</p>"
        for part in range(4)
    )
    title = f"Station report {number}"
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{paragraphs}</article></body></html>".encode()


def response(writer: WARCWriter, uri: str, body: bytes, content_type="text/html; charset=utf-8", status="200 OK"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    return writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(body),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": DATE.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )


def write_warc(path: Path, pages: dict[str, bytes], extras: bool = True) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=path.name.endswith(".gz"))
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        for uri, body in pages.items():
            if extras:
                request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "news.example")], is_http_request=True)
                writer.write_record(writer.create_warc_record(uri, "request", http_headers=request))
            writer.write_record(response(writer, uri, body))
        if extras:
            writer.write_record(response(writer, "https://news.example/report.pdf", b"%PDF-1.4", "application/pdf"))
            writer.write_record(response(writer, "https://news.example/gone.html", b"gone", status="404 Not Found"))
            meta = writer.create_warc_record("https://news.example/1.html", "metadata", payload=io.BytesIO(b"x: 1"))
            writer.write_record(meta)


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def run(db: Path, paths: list[Path], batch_size: int = 2) -> dict:
    request = IngestRequest(db=str(db), run_id=str(uuid.uuid4()), paths=[str(p) for p in paths], batch_size=batch_size)
    return ingest_documents(request, IngestSteps(extract_workers=1))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A folder: a WARC of five pages and other records, a truncated WARC, a gzip that is not a WARC, a seed."""
    folder = tmp_path / "archive"
    folder.mkdir()
    pages = {f"https://news.example/{n}.html": page(n) for n in range(1, 6)}
    write_warc(folder / "crawl.warc.gz", pages)
    whole = tmp_path / "whole.warc.gz"
    write_warc(whole, {"https://other.example/a.html": page(6), "https://other.example/b.html": page(7)}, False)
    data = whole.read_bytes()
    (folder / "cut.warc.gz").write_bytes(data[: len(data) - 300])  # the last record is cut short
    (folder / "notes.warc.gz").write_bytes(gzip.compress(b"just some notes, not a web archive\n" * 20))
    (folder / "plain.warc").write_bytes(b"")  # an empty uncompressed WARC: nothing in it
    (folder / "seed.txt").write_text("Roscosmos video\n\n" + " ".join(_SENTENCES) + "\n")
    return folder


def test_ingest_warc_responses_load_with_provenance_and_bad_files_are_rejects(archive, fresh_db):
    summary = run(fresh_db, [archive])
    crawl = (archive / "crawl.warc.gz").resolve().as_uri()
    articles = {row[0] for row in query(fresh_db, "SELECT source_uri FROM articles")}
    assert articles == {
        *(f"https://news.example/{n}.html" for n in range(1, 6)),
        "https://other.example/a.html",  # the cut file's first record is whole
        (archive / "seed.txt").resolve().as_uri(),
    }
    fetches = query(
        fresh_db,
        "SELECT url, final_url, status, fetched_at, archive, archive_uri, archive_record_id, archive_offset,"
        " archived_at FROM fetches ORDER BY url",
    )
    crawl_rows = [row for row in fetches if row[0].startswith("https://news.example/")]
    assert len(crawl_rows) == 5
    for url, final_url, status, fetched_at, kind, uri, record_id, offset, archived_at in crawl_rows:
        assert (final_url, status, fetched_at, kind, uri, archived_at) == (url, 200, DATE, "warc", crawl, DATE)
        assert record_id.startswith("<urn:uuid:") and offset > 0
    assert len({row[7] for row in crawl_rows}) == 5  # each record its own offset
    rejects = {
        (uri.split("/")[-1], stage, reason)
        for uri, stage, reason in query(fresh_db, "SELECT source_uri, stage, reason FROM rejects")
    }
    assert {(uri.split("#")[0], reason) for uri, _, reason in rejects} == {
        ("b.html", "truncated_warc"),  # keyed by the record's URI when its header was read
        ("notes.warc.gz", "bad_warc"),  # else by the file and the offset
    }
    assert {stage for _, stage, _ in rejects} == {"read"}
    assert (summary["loaded"], summary["rejected"]) == (7, 2)
    assert summary["seen"] == 9  # the seed, six responses, two rejects; skipped records are not documents


def test_ingest_warc_twice_changes_nothing(archive, fresh_db):
    run(fresh_db, [archive])
    tables = ("articles", "fetches", "rejects")
    before = {t: query(fresh_db, f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL") for t in ("fetches", "rejects")}
    before["articles"] = query(fresh_db, "SELECT article_id, source_uri, text, ingested_at FROM articles ORDER BY ALL")
    again = run(fresh_db, [archive])
    assert (again["loaded"], again["updated"], again["unchanged"]) == (0, 0, 7)
    after = {t: query(fresh_db, f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL") for t in ("fetches", "rejects")}
    after["articles"] = query(fresh_db, "SELECT article_id, source_uri, text, ingested_at FROM articles ORDER BY ALL")
    assert {t: after[t] == before[t] for t in tables} == dict.fromkeys(tables, True)


def test_ingest_warc_named_on_the_command_line_is_found(archive):
    found, rejects = discover_documents([archive / "crawl.warc.gz", archive / "plain.warc"])
    assert [f.path.name for f in found] == ["crawl.warc.gz", "plain.warc"] and rejects == []


def test_ingest_warc_the_same_url_in_two_files_keeps_one_article(tmp_path, fresh_db):
    """A later capture of a URL is the newer version of the same document: one article, updated."""
    folder = tmp_path / "two"
    folder.mkdir()
    write_warc(folder / "a.warc.gz", {"https://news.example/1.html": page(1)}, False)
    write_warc(folder / "b.warc.gz", {"https://news.example/1.html": page(2)}, False)
    summary = run(fresh_db, [folder])
    assert query(fresh_db, "SELECT count(*) FROM articles") == [(1,)]
    assert (summary["loaded"], summary["updated"]) == (1, 1)
    assert query(fresh_db, "SELECT title FROM articles") == [("Station report 2",)]


def test_read_ahead_keeps_order_raises_the_producers_error_and_stops_early():
    import threading

    from pipeline.warc import read_ahead

    assert list(read_ahead(iter(range(50)), 2)) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in read_ahead(failing(), 1):
            got.append(item)
    assert got == [1, 2]
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    before = threading.active_count()
    stream = read_ahead(endless(), 2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()  # the consumer stops: the thread stops too, a few items ahead at most
    assert threading.active_count() == before and len(produced) <= 3 + 2 + 2
    with pytest.raises(ValueError, match="depth"):
        next(read_ahead(iter(()), 0))
