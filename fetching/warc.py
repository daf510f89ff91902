"""WARC files (`.warc`, `.warc.gz`): the HTML responses inside them, streamed, and a byte-level pre-filter.

`read_warc` reads a file record by record with warcio and never holds more than one capped body: a CC-NEWS
file is about 1 GB. What is not an HTML page fetched with status 200 is skipped and counted by kind; what is
broken becomes a `WarcReject` (a stable reason code and the byte offset), never an exception, and reading goes
on at the next record where the input allows it (a seekable file: the next gzip member, or the next
`WARC/1.` line of an uncompressed file); from a pipe it stops at the first broken record.

Reject reasons: `bad_warc` (not a WARC, a header or HTTP head that cannot be parsed, a corrupt gzip member,
a record without a date or id), `bad_length` (a Content-Length that does not match the record),
`truncated_warc` (the file ends inside a record), `too_large` (a body over `max_bytes`, stored or decompressed,
never read whole), `bad_encoding` (a Content-Encoding other than gzip/deflate, or one that does not decompress),
`bad_url` / `unsupported_scheme` (the target URI, from `parse_url`).
"""

from __future__ import annotations

import io
import os
import zlib
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import WARCIterator

from config.defaults import DEFAULT_MAX_BYTES
from extractors.records import Reject
from extractors.urls import parse_url, strip_userinfo

HTML_TYPES = ("text/html", "application/xhtml+xml")
KEPT_HEADERS = ("content-type", "content-language", "last-modified", "etag")
# Record types, then responses left out.
SKIP_KINDS = ("warcinfo", "request", "metadata", "revisit", "resource", "other")
SKIP_KINDS += ("not_http", "not_html", "not_200", "other_host", "no_keyword")
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = b"\nWARC/1."
_SCAN_CHUNK = 1 << 20
_DRAIN_CHUNK = 1 << 16


@dataclass(frozen=True)
class WarcResponse:
    """One HTML page fetched with status 200, as the archive recorded it.

    `body` is the HTTP entity body (chunked transfer and gzip/deflate content encoding undone); `warc_date` is
    naive UTC, like `FetchResult.fetched_at`; `offset` is where the record starts in the file (of its gzip
    member in a `.warc.gz`), so the record can be found again."""

    target_uri: str
    warc_date: datetime
    record_id: str
    status: int
    headers: dict[str, str]
    body: bytes
    offset: int

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


@dataclass(frozen=True)
class WarcReject:
    """A record (or a stretch of the file) that could not be read. `target_uri` is the record's URI when it was
    read (as parsed, or as written when it is itself the problem), else None; `reject.detail` names the
    offset."""

    offset: int
    reject: Reject
    record_id: str | None = None
    target_uri: str | None = None


@dataclass
class WarcCounts:
    """What a read skipped, by kind (`SKIP_KINDS`), and how many responses and rejects it gave."""

    skipped: Counter = field(default_factory=Counter)
    responses: int = 0
    rejects: int = 0


def read_warc(
    source: str | os.PathLike | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    keywords: Sequence[bytes | tuple[bytes, ...]] | None = None,
    hosts: Collection[str] | None = None,
    counts: WarcCounts | None = None,
) -> Iterator[WarcResponse | WarcReject]:
    """The HTML responses (status 200) of a `.warc` or `.warc.gz`, and a reject for each broken record.

    `source` is a path or a binary file object (read from its current position, not closed). Skipped records
    are counted in `counts.skipped` as they pass. With `keywords` (see `could_match`), a response whose body
    cannot contain any of them is skipped as `no_keyword` before its URL is even parsed. With `hosts`, a response
    whose target host (or a domain above it: `bbc.co.uk` keeps `www.bbc.co.uk`) is not in the set is skipped as
    `other_host` before its body is read or searched. Raises only for bad
    arguments and for a path that cannot be opened (OSError): the caller decides what a missing file is."""
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    if keywords is not None:
        _check_patterns(keywords)
    counts = counts if counts is not None else WarcCounts()
    wanted = frozenset(h.lower().strip(".") for h in hosts) if hosts is not None else None
    with ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            stream = stack.enter_context(open(Path(source), "rb", buffering=0))
        elif hasattr(source, "read"):
            stream = source
        else:
            raise TypeError(f"source must be a path or a binary file object, not {type(source).__name__}")
        for item in _Reader(stream, max_bytes, keywords, counts, wanted).items():
            if isinstance(item, WarcReject):
                counts.rejects += 1
            else:
                counts.responses += 1
            yield item


class _QuietWARCIterator(WARCIterator):
    """warcio's iterator without its warning on stderr about a wrong Content-Length: `err_count` still counts
    it, and here it becomes a reject `bad_length`."""

    INC_RECORD = ""


class _Reader:
    """One pass over a stream: a warcio iterator, restarted after a broken record where the stream can seek."""

    def __init__(
        self,
        stream: BinaryIO,
        max_bytes: int,
        keywords: Sequence | None,
        counts: WarcCounts,
        hosts: frozenset[str] | None = None,
    ) -> None:
        self.stream = stream
        self.hosts = hosts
        self.max_bytes = max_bytes
        self.keywords = tuple(keywords) if keywords is not None else None
        self.counts = counts
        self.start = _tell(stream)
        self.seekable = self.start is not None and _seekable(stream)
        self.marker = _GZIP_MAGIC
        if self.seekable:
            head = stream.read(4)
            stream.seek(self.start)
            self.marker = _GZIP_MAGIC if head.startswith(_GZIP_MAGIC[:2]) else _WARC_LINE

    def items(self) -> Iterator[WarcResponse | WarcReject]:
        position = self.start or 0
        reported_at: int | None = None  # a broken stretch is reported once, not once per failed restart
        while True:
            iterator = _QuietWARCIterator(self.stream)
            record_offset = iterator.offset
            try:
                for record in iterator:
                    record_offset = iterator.offset
                    item = self._read_record(iterator, record, record_offset)
                    reported_at = None
                    if item is not None:
                        yield item
                end = self._check_end(iterator)
                if end is not None:
                    yield end
                return
            except Exception as exc:  # noqa: BLE001 (warcio raises many kinds; each is a broken record here)
                failed_at = getattr(iterator, "offset", record_offset)
                if reported_at is None:
                    reported_at = failed_at
                    yield WarcReject(failed_at, Reject(_reason(exc), f"offset {failed_at}: {_describe(exc)}"))
                if not self.seekable:
                    return
                found = _find(self.stream, self.marker, max(failed_at, position) + 1)
                if found is None:
                    return
                position = found + (1 if self.marker == _WARC_LINE else 0)
                self.stream.seek(position)

    def _read_record(self, iterator: WARCIterator, record, offset: int) -> WarcResponse | WarcReject | None:
        """The record's response or reject, or None when it is skipped (and counted); the record is read to its
        end here, so that a record cut short or with a wrong Content-Length is a reject, whatever its kind."""
        if record.rec_type is None:  # warcio's empty record for blank lines where a record could start
            return None
        headers = record.rec_headers
        record_id = headers.get_header("WARC-Record-ID")
        raw_uri = strip_userinfo((headers.get_header("WARC-Target-URI") or "").strip().strip("<>"))
        outcome = self._read_response(record, offset, record_id, raw_uri)
        errors_before = iterator.err_count
        iterator.read_to_end()  # drains what is left and checks that blank lines, not data, follow the record
        short = record.raw_stream.limit  # bytes the Content-Length promised that the record did not hold
        decompressor = iterator.reader.decompressor
        uri = outcome.target_uri if isinstance(outcome, (WarcResponse, WarcReject)) else raw_uri or None
        if short > 0:
            cut = iterator.next_line is None if decompressor is None else not decompressor.eof
            if cut:
                problem = f"the file ends {short:,} bytes before the record's end"
                return _rejected(offset, "truncated_warc", problem, record_id, uri)
            problem = f"Content-Length is {short:,} bytes more than the record holds"
            return _rejected(offset, "bad_length", problem, record_id, uri)
        if iterator.err_count > errors_before:
            problem = "data after the record's Content-Length (Content-Length too small)"
            return _rejected(offset, "bad_length", problem, record_id, uri)
        if isinstance(outcome, str):
            self.counts.skipped[outcome] += 1
            return None
        return outcome

    def _read_response(
        self, record, offset: int, record_id: str | None, raw_uri: str
    ) -> WarcResponse | WarcReject | str:
        """The response, a reject, or the kind of skip."""
        kind = record.rec_type
        if kind != "response":
            return kind if kind in SKIP_KINDS else "other"
        if record.http_headers is None:
            return "not_http"
        try:
            status = int(record.http_headers.get_statuscode())
        except (TypeError, ValueError):
            return "not_http"
        if status != 200:
            return "not_200"
        content_type = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            return "not_html"
        if self.hosts is not None and not host_wanted(raw_uri, self.hosts):
            return "other_host"  # the body is never read here: read_to_end drains it without a copy kept
        declared = record.raw_stream.limit  # the body as stored, by the Content-Length, HTTP head already read
        if declared > self.max_bytes:
            problem = f"body of {declared:,} bytes is over the {self.max_bytes:,}-byte limit"
            return _rejected(offset, "too_large", problem, record_id, _shown_uri(raw_uri))
        body = record.raw_stream.read(self.max_bytes)
        if (record.http_headers.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
            body = _dechunk(body)
        encoding = (record.http_headers.get_header("Content-Encoding") or "").strip().lower()
        if encoding not in ("", "identity"):
            body = _decode(body, encoding, self.max_bytes)
            if isinstance(body, Reject):
                return _rejected(offset, body.reason, body.detail, record_id, _shown_uri(raw_uri))
        if self.keywords is not None and not _could_match(body, self.keywords):
            return "no_keyword"
        target = parse_url(raw_uri)
        if isinstance(target, Reject):
            return _rejected(offset, target.reason, target.detail, record_id, raw_uri or None)
        warc_date = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
        if warc_date is None or not record_id:
            missing = "WARC-Date" if warc_date is None else "WARC-Record-ID"
            given = record.rec_headers.get_header("WARC-Date")
            return _rejected(offset, "bad_warc", f"no valid {missing} ({given!r})", record_id, target)
        kept = {name: value for name in KEPT_HEADERS if (value := record.http_headers.get_header(name))}
        return WarcResponse(target, warc_date, record_id, status, kept, body, offset)

    def _check_end(self, iterator: WARCIterator) -> WarcReject | None:
        """Bytes after the last whole record: a record cut short, or something that is not a WARC record."""
        end = iterator.offset
        total = _drained_size(self.stream, iterator)
        if total is None or total <= end:
            return None
        return WarcReject(
            end,
            Reject(
                "truncated_warc",
                f"offset {end}: the last {total - end:,} bytes are not a whole WARC record (a file cut short?)",
            ),
        )


def host_wanted(uri: str, wanted: frozenset[str]) -> bool:
    """Whether the URI's host, or a domain above it, is in `wanted` (lowercased, without a trailing dot)."""
    try:
        host = (urlsplit(uri).hostname or "").rstrip(".")
    except ValueError:
        return False
    labels = host.split(".")
    return any(".".join(labels[i:]) in wanted for i in range(len(labels)))


def _shown_uri(raw_uri: str) -> str | None:
    """The target URI as parsed, or as written (credentials already removed) when it does not parse."""
    parsed = parse_url(raw_uri)
    return parsed if isinstance(parsed, str) else raw_uri or None


def _rejected(offset: int, reason: str, problem: str, record_id: str | None, uri: str | None) -> WarcReject:
    return WarcReject(offset, Reject(reason, f"offset {offset}: {problem}"), record_id, uri)


def parse_warc_date(value: str | None) -> datetime | None:
    """WARC-Date (ISO 8601 in UTC, `Z`, seconds or finer, per WARC 1.0/1.1) as naive UTC, or None."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def could_match(body: bytes, patterns: Sequence[bytes | tuple[bytes, ...]]) -> bool:
    """Whether any monitor keyword could occur in the page, read from its raw bytes without HTML parsing.

    Each pattern is a lowercased word (`b"undocking"`) or a tuple of words that must all occur (the words of a
    phrase, `(b"russian", b"segment")`: a phrase itself can be split across tags or lines in the HTML). False
    means no pattern occurs in the bytes, ASCII case folded; True is also the answer whenever bytes cannot rule a
    match out: a compressed or UTF-16/32 body, and, for a non-ASCII word, a body that is not UTF-8 or that holds
    numeric character references (`&#1088;`)."""
    _check_patterns(patterns)
    return _could_match(body, patterns)


def _check_patterns(patterns: Sequence[bytes | tuple[bytes, ...]]) -> None:
    if isinstance(patterns, (bytes, str)):
        raise ValueError("patterns must be a sequence of words (bytes) or tuples of words, not one string")
    for pattern in patterns:
        words = pattern if isinstance(pattern, tuple) and pattern else (pattern,)
        for word in words:
            if not isinstance(word, bytes) or not word or word != word.lower():
                raise ValueError(f"patterns must be non-empty lowercased bytes, got {pattern!r}")


def _could_match(body: bytes, patterns: Sequence[bytes | tuple[bytes, ...]]) -> bool:
    if not patterns:
        return False
    if body[:2] == _GZIP_MAGIC[:2] or body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4096]:
        return True
    lowered = body.lower()
    folded = None
    for pattern in patterns:
        words = pattern if isinstance(pattern, tuple) else (pattern,)
        if all(word in lowered for word in words):
            return True
        if all(word.isascii() for word in words):
            continue
        if b"&#" in body:
            return True
        if folded is None:
            try:
                folded = body.decode("utf-8").lower().encode("utf-8")
            except UnicodeDecodeError:
                return True  # a legacy charset: its bytes are not the word's UTF-8
        if all(word in folded for word in words):
            return True
    return False


def _dechunk(raw: bytes) -> bytes:
    """A chunked body's data; the bytes as they are when they are not chunked (archives often store the body
    dechunked but keep the header)."""
    out, position = [], 0
    while True:
        line_end = raw.find(b"\r\n", position)
        try:
            size = int(raw[position:line_end].split(b";")[0].strip(), 16) if line_end >= 0 else -1
        except ValueError:
            size = -1
        if size < 0 or line_end + 2 + size > len(raw):
            return b"".join(out) if out else raw  # not chunked after all, or cut short: the data read so far
        if size == 0:
            return b"".join(out)
        out.append(raw[line_end + 2 : line_end + 2 + size])
        position = line_end + 2 + size + 2


def _decode(raw: bytes, encoding: str, max_bytes: int) -> bytes | Reject:
    """A gzip or deflate body decompressed, never past max_bytes (a small body can inflate a thousandfold)."""
    if encoding in ("gzip", "x-gzip"):
        attempts = (zlib.MAX_WBITS | 32,)
    elif encoding == "deflate":
        attempts = (zlib.MAX_WBITS, -zlib.MAX_WBITS)  # zlib-wrapped as the RFC says, or raw as servers send it
    else:
        return Reject("bad_encoding", f"Content-Encoding {encoding[:40]!r} is not read")
    for wbits in attempts:
        try:
            out = zlib.decompressobj(wbits).decompress(raw, max_bytes + 1)
        except zlib.error as exc:
            problem = f"Content-Encoding {encoding} does not decompress ({exc})"
            continue
        if len(out) > max_bytes:
            return Reject("too_large", f"body over the {max_bytes:,}-byte limit once decompressed")
        return out
    return Reject("bad_encoding", problem)


def _reason(exc: Exception) -> str:
    return "truncated_warc" if isinstance(exc, EOFError) else "bad_warc"


def _describe(exc: Exception) -> str:
    text = "".join(c if c.isprintable() else "?" for c in " ".join(str(exc).split())[:160])
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tell(stream: BinaryIO) -> int | None:
    try:
        return stream.tell()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (OSError, AttributeError, ValueError):
        return False


def _drained_size(stream: BinaryIO, iterator: WARCIterator) -> int | None:
    """How many bytes the stream holds, from the file's start: by seeking, or by reading the rest in chunks."""
    if _seekable(stream):
        return stream.seek(0, os.SEEK_END)
    fh = iterator.fh
    while fh.read(_DRAIN_CHUNK):
        pass
    return fh.tell()


def _find(stream: BinaryIO, marker: bytes, start: int) -> int | None:
    """The first offset at or after `start` where `marker` begins, read in chunks, or None."""
    stream.seek(start)
    position, tail = start, b""
    while chunk := stream.read(_SCAN_CHUNK):
        data = tail + chunk
        found = data.find(marker)
        if found >= 0:
            return position - len(tail) + found
        tail = data[-(len(marker) - 1) :]
        position += len(chunk)
    return None
