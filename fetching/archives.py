"""Web archives as sources of the past: the Wayback Machine (CDX index and raw playback) and Common Crawl's news
crawl (CC-NEWS: monthly WARC listings, WARC files streamed over HTTP).

These are clients only: they find and bring archived responses in, and the backfill decides what to do with them.
Like `fetch.py` they never raise on bad input: a CDX answer that is not JSON, an HTTP error, a snapshot that
redirects out of the archive, a listing that is missing or not gzip, a WARC cut short all become a `Reject` (or a
`WarcReject` among the records) with a stable reason. They raise only for bad arguments (a range that ends before
it starts).

Wayback: `WaybackClient` is an async context manager over a `Fetcher` restricted to the archive's hosts, so the
SSRF guard, size caps and retries (429/503, honouring Retry-After) apply, and spaced by `WAYBACK_INTERVAL` (the
Wayback Machine asks for about one request per second). `snapshots()` asks the CDX API for the captures with
status 200 in a date range, adjacent captures with the same digest collapsed (the same bytes hold no new links);
`playback_url()` is a capture's raw copy (`{playback}/{timestamp}id_/{original}`: the original bytes, no toolbar,
no rewritten links); `fetch_snapshot()` fetches it, following redirects to other captures of the archive (the
Wayback Machine answers a timestamp it lacks with a redirect to the nearest one) for at most `max_hops`.

CC-NEWS: `ccnews_warcs()` reads `crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz` for the months of a range and keeps the
files named `CC-NEWS-YYYYMMDDHHMMSS-NNNNN.warc.gz` whose timestamp falls in it, plus the last one before it (a file
holds what was crawled in the hours after its timestamp). `stream_warc()` reads one remote WARC as `read_warc`
reads a local one, from an httpx streaming response wrapped as a binary file, never holding more than a chunk and
one capped record: a CC-NEWS file is about 1 GB.

Reject reasons, besides the fetcher's (`http_404`, `http_429`, `timeout`, `private_address`, `too_large`, ...):
`bad_cdx` (a CDX answer that is not a JSON table), `left_archive` (a playback redirect to a URL that is not a raw
capture of this archive), `bad_listing` (a CC-NEWS listing that is not gzip text), and from `stream_warc` those of
`read_warc` (`truncated_warc` also when the connection drops mid-file).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import random
import re
import socket
import time
import zlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Self
from urllib.parse import urlencode, urlsplit

import httpx

from config.defaults import DEFAULT_MAX_BYTES
from config.fetch_policy import FetchPolicy
from extractors.records import Reject
from extractors.urls import parse_url, shown_url
from fetching.fetch import RETRY_STATUSES, Fetcher, FetchResult, _Refused, retry_after_seconds, tls_context
from fetching.warc import WarcCounts, WarcReject, WarcResponse, host_wanted, read_warc

log = logging.getLogger(__name__)

WAYBACK_CDX_URL = "https://web.archive.org/cdx/search/cdx"
WAYBACK_PLAYBACK_URL = "https://web.archive.org/web"
CCNEWS_BASE_URL = "https://data.commoncrawl.org"
WAYBACK_INTERVAL = 1.0  # seconds between requests to the archive: the Wayback Machine asks for about 1 per second
MAX_HOPS = 3  # playback redirects followed from one capture to another
CDX_PAGE_SIZE = 5000  # rows per CDX request; longer answers are paged with the resume key
CDX_MAX_PAGES = 20
CDX_FIELDS = ("timestamp", "original", "mimetype", "statuscode", "digest")
_TIMESTAMP = re.compile(r"\d{14}")
_CCNEWS_NAME = re.compile(r"CC-NEWS-(\d{14})-(\d{5})\.warc(?:\.gz)?$")
_MAX_LISTING_BYTES = 64 * 1024 * 1024  # a month's listing, decompressed, is well under 1 MB


# --- Wayback Machine ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One capture in the Wayback Machine's CDX index. `timestamp` is naive UTC, like `FetchResult.fetched_at`;
    `original` is the captured URL as the index spells it (needed as it is to ask for the capture)."""

    timestamp: datetime
    original: str
    mimetype: str
    status: int
    digest: str

    @property
    def stamp(self) -> str:
        """The 14-digit timestamp of the archive's URLs."""
        return self.timestamp.strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class ArchivedCopy:
    """A capture's raw copy as fetched: `archived_at` and `archive_uri` name the capture actually served (another
    timestamp when the archive redirected), for the provenance columns of `fetches`; `result.reject` is set when
    there is no copy."""

    snapshot: Snapshot
    result: FetchResult
    archive_uri: str | None = None
    archived_at: datetime | None = None

    @property
    def reject(self) -> Reject | None:
        return self.result.reject


def playback_url(snapshot: Snapshot, playback: str = WAYBACK_PLAYBACK_URL) -> str:
    """The raw copy of a capture: the `id_` flag after the timestamp asks for the original bytes, without the
    archive's toolbar or rewritten links."""
    return f"{playback.rstrip('/')}/{snapshot.stamp}id_/{snapshot.original}"


def archive_policy(policy: FetchPolicy, interval: float = WAYBACK_INTERVAL, max_hops: int = MAX_HOPS) -> FetchPolicy:
    """The policy for an archive host: one request at a time, at least `interval` seconds apart."""
    return replace(
        policy,
        per_host_concurrency=1,
        min_host_interval=max(policy.min_host_interval, interval),
        max_redirects=max_hops,
    )


class _ArchiveFetcher(Fetcher):
    """A fetcher that requests nothing outside the archive's hosts: a redirect elsewhere is refused before it is
    followed (`left_archive`), so a playback never reaches the live site."""

    def __init__(self, policy: FetchPolicy, hosts: Collection[str]) -> None:
        super().__init__(policy)
        self._archive_hosts = frozenset(host.lower() for host in hosts)

    async def _check_allowed(self, url: str) -> None:
        netloc = urlsplit(url).netloc.lower()
        if netloc not in self._archive_hosts:
            raise _Refused("left_archive", f"redirect out of the archive, to {shown_url(url)}")
        await super()._check_allowed(url)


class WaybackClient:
    """The Wayback Machine's CDX index and raw playback: `async with WaybackClient(policy) as wayback`.

    `interval` spaces requests to the archive (default `WAYBACK_INTERVAL`, never below the policy's own);
    `max_hops` bounds the redirects followed from one capture to another."""

    def __init__(
        self,
        policy: FetchPolicy,
        cdx_url: str = WAYBACK_CDX_URL,
        playback: str = WAYBACK_PLAYBACK_URL,
        *,
        interval: float = WAYBACK_INTERVAL,
        max_hops: int = MAX_HOPS,
    ) -> None:
        for name, url in (("cdx_url", cdx_url), ("playback", playback)):
            if isinstance(parse_url(url, normalize=False), Reject):
                raise ValueError(f"{name} must be an http(s) URL, got {url!r}")
        if max_hops < 0:
            raise ValueError(f"max_hops must not be negative, got {max_hops}")
        self.cdx_url = cdx_url
        self.playback = playback.rstrip("/")
        self.policy = archive_policy(policy, interval, max_hops)
        self._raw = re.compile(re.escape(self.playback) + r"/(\d{14})id_/(.+)", re.DOTALL)
        self._fetcher = _ArchiveFetcher(self.policy, {urlsplit(cdx_url).netloc, urlsplit(self.playback).netloc})

    async def __aenter__(self) -> Self:
        await self._fetcher.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._fetcher.__aexit__(*exc)

    async def snapshots(
        self,
        url: str,
        start: date,
        end: date,
        *,
        match_type: str = "exact",
        collapse: Sequence[str] = ("digest",),
        mimetypes: Sequence[str] = (),
        page_size: int = CDX_PAGE_SIZE,
        max_pages: int = CDX_MAX_PAGES,
    ) -> list[Snapshot] | Reject:
        """The captures of `url` (or of the URLs under it, `match_type="prefix"`) with status 200 from `start` to
        `end`, both days included, oldest first; or the reject of the first CDX request that failed.

        `collapse` is passed to the CDX API as it is: adjacent captures equal on the field are one (`digest`: the
        same bytes; `timestamp:10`: one per hour). `mimetypes` keeps only those types (regex, as the API reads
        it). Rows that cannot be read are dropped and logged."""
        if end < start:
            raise ValueError(f"the range ends ({end}) before it starts ({start})")
        if match_type not in ("exact", "prefix", "host", "domain"):
            raise ValueError(f"match_type must be exact, prefix, host or domain, got {match_type!r}")
        params: list[tuple[str, str]] = [
            ("url", url),
            ("matchType", match_type),
            ("output", "json"),
            ("fl", ",".join(CDX_FIELDS)),
            ("from", start.strftime("%Y%m%d")),
            ("to", end.strftime("%Y%m%d")),  # the API pads a short `to` to the day's last second
            ("filter", "statuscode:200"),
            *(("filter", f"mimetype:{mimetype}") for mimetype in mimetypes),
            *(("collapse", field) for field in collapse),
            ("limit", str(page_size)),
            ("showResumeKey", "true"),
        ]
        found: list[Snapshot] = []
        resume: str | None = None
        for _ in range(max_pages):
            query = params + ([("resumeKey", resume)] if resume else [])
            result = await self._fetcher.fetch(f"{self.cdx_url}?{urlencode(query)}", expect="any")
            if result.reject:
                return result.reject
            page = _parse_cdx(result.body)
            if isinstance(page, Reject):
                return page
            rows, resume = page
            found.extend(rows)
            if not resume:
                break
        else:
            log.warning("CDX answer for %s still paged after %d pages; the rest is left out", url, max_pages)
        return sorted(found, key=lambda s: (s.timestamp, s.original))

    def playback_url(self, snapshot: Snapshot) -> str:
        return playback_url(snapshot, self.playback)

    async def fetch_snapshot(self, snapshot: Snapshot, expect: str = "any") -> ArchivedCopy:
        """A capture's raw copy; `expect` as in `Fetcher.fetch` ("page", "feed" or "any")."""
        result = await self._fetcher.fetch(self.playback_url(snapshot), expect=expect)
        if result.reject:
            return ArchivedCopy(snapshot, result)
        served = self._raw.fullmatch(result.final_url)
        if served is None:  # a redirect inside the archive's host, but not to a raw capture (the toolbar page)
            reject = Reject("left_archive", f"redirected to {shown_url(result.final_url)}, not a raw capture")
            return ArchivedCopy(snapshot, replace(result, status=None, body=b"", reject=reject))
        archived_at = datetime.strptime(served.group(1), "%Y%m%d%H%M%S")
        return ArchivedCopy(snapshot, result, result.final_url, archived_at)

    async def fetch_snapshots(self, snapshots: Sequence[Snapshot], expect: str = "any") -> list[ArchivedCopy]:
        """Raw copies of several captures, in order (spaced by the archive's interval all the same)."""
        return list(await asyncio.gather(*(self.fetch_snapshot(s, expect) for s in snapshots)))


def _parse_cdx(body: bytes) -> tuple[list[Snapshot], str | None] | Reject:
    """A CDX JSON answer: a header row of field names, then one row per capture; with `showResumeKey`, an empty
    row and then `[resume_key]` when there is more. An empty body is no capture."""
    if not body.strip():
        return [], None
    try:
        table = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return Reject("bad_cdx", f"CDX answer is not JSON ({exc}): {body[:80]!r}")
    if not isinstance(table, list) or not all(isinstance(row, list) for row in table):
        return Reject("bad_cdx", f"CDX answer is not a table of rows: {body[:80]!r}")
    if not table:
        return [], None
    resume = None
    if len(table) >= 2 and table[-2] == [] and len(table[-1]) == 1:
        resume = str(table[-1][0])
        table = table[:-2]
    header = [str(name) for name in table[0]]
    missing = [name for name in CDX_FIELDS if name not in header]
    if missing:
        return Reject("bad_cdx", f"CDX answer lacks the fields {', '.join(missing)} (header {header[:10]})")
    snapshots, dropped = [], 0
    for row in table[1:]:
        snapshot = _snapshot(dict(zip(header, row, strict=False)))
        if snapshot is None:
            dropped += 1
        else:
            snapshots.append(snapshot)
    if dropped:
        log.warning("dropped %d CDX rows that could not be read", dropped)
    return snapshots, resume


def _snapshot(row: dict) -> Snapshot | None:
    stamp, original = str(row.get("timestamp", "")), str(row.get("original", ""))
    if not _TIMESTAMP.fullmatch(stamp) or isinstance(parse_url(original, normalize=False), Reject):
        return None
    try:
        timestamp = datetime.strptime(stamp, "%Y%m%d%H%M%S")
        status = int(row.get("statuscode", ""))
    except ValueError:
        return None
    return Snapshot(timestamp, original, str(row.get("mimetype", "")), status, str(row.get("digest", "")))


# --- CC-NEWS -----------------------------------------------------------------------------------------------------


def ccnews_listing_url(year: int, month: int, base_url: str = CCNEWS_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/crawl-data/CC-NEWS/{year:04d}/{month:02d}/warc.paths.gz"


def ccnews_warcs(
    start: date, end: date, base_url: str = CCNEWS_BASE_URL, policy: FetchPolicy | None = None
) -> list[str | Reject]:
    """The URLs of the CC-NEWS WARC files that can hold what was crawled from `start` to `end` (both days
    included), oldest first, then a reject for each monthly listing that could not be read.

    A file holds the hours after the timestamp in its name, so the last file named before `start` is kept too
    (from the previous month's listing when `start`'s month has none before it)."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    return asyncio.run(_ccnews_warcs(start, end, base_url, policy or FetchPolicy()))


async def _ccnews_warcs(start: date, end: date, base_url: str, policy: FetchPolicy) -> list[str | Reject]:
    begins = datetime(start.year, start.month, start.day)
    ends = datetime(end.year, end.month, end.day) + timedelta(days=1)
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    files: list[tuple[datetime, int, str]] = []
    rejects: list[Reject] = []
    async with Fetcher(policy) as fetcher:
        listed = [await _ccnews_listing(fetcher, base_url, y, m) for y, m in months]
        for listing in listed:
            if isinstance(listing, Reject):
                rejects.append(listing)
            else:
                files.extend(listing)
        if not isinstance(listed[0], Reject) and not any(when < begins for when, _, _ in files):
            before = (start.year - 1, 12) if start.month == 1 else (start.year, start.month - 1)
            previous = await _ccnews_listing(fetcher, base_url, *before)
            if isinstance(previous, Reject):
                rejects.append(previous)
            else:
                files.extend(previous)
    files.sort()
    earlier = [f for f in files if f[0] < begins]
    kept = earlier[-1:] + [f for f in files if begins <= f[0] < ends]
    return [url for _, _, url in kept] + rejects


async def _ccnews_listing(
    fetcher: Fetcher, base_url: str, year: int, month: int
) -> list[tuple[datetime, int, str]] | Reject:
    """One month's files, (timestamp, serial, URL); lines that are not CC-NEWS WARC paths are ignored."""
    listing = ccnews_listing_url(year, month, base_url)
    result = await fetcher.fetch(listing, expect="any")
    if result.reject:
        return Reject(result.reject.reason, f"{listing}: {result.reject.detail}")
    text = _gunzip_listing(result)
    if isinstance(text, Reject):
        return Reject(text.reason, f"{listing}: {text.detail}")
    files = []
    for line in text.splitlines():
        path = line.strip()
        named = _CCNEWS_NAME.search(path)
        if named is None:
            continue
        when = datetime.strptime(named.group(1), "%Y%m%d%H%M%S")
        files.append((when, int(named.group(2)), f"{base_url.rstrip('/')}/{path.lstrip('/')}"))
    return files


def _gunzip_listing(result: FetchResult) -> str | Reject:
    """The listing's text: the body is gzip, unless the server sent it with Content-Encoding gzip and the fetcher
    already inflated it."""
    body = result.body
    if body[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, _MAX_LISTING_BYTES + 1)
        except zlib.error as exc:
            return Reject("bad_listing", f"corrupt gzip ({exc})")
        if len(body) > _MAX_LISTING_BYTES or not inflater.eof:
            return Reject("bad_listing", "gzip listing cut short or over the size limit")
    elif result.headers.get("content-encoding", "").strip().lower() not in ("gzip", "x-gzip"):
        return Reject("bad_listing", f"not gzip: {body[:40]!r}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return Reject("bad_listing", "not UTF-8 text once inflated")


def stream_warc(
    url: str,
    *,
    policy: FetchPolicy | None = None,
    hosts: Collection[str] | None = None,
    keywords: Sequence[bytes | tuple[bytes, ...]] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    counts: WarcCounts | None = None,
) -> Iterator[WarcResponse | WarcReject]:
    """The HTML responses of a remote WARC, streamed (one chunk and one capped record in memory at a time).

    `hosts` keeps the records whose target host, or a domain above it, is in the set (`bbc.co.uk` keeps
    `www.bbc.co.uk`); None keeps all. Records of other hosts are counted as skipped `other_host`. `keywords`
    is `read_warc`'s pre-filter. The request goes through the policy's SSRF guard and is retried on 429/5xx
    and connection errors (Retry-After honoured) until the body starts; a redirect is not followed (a reject).
    A connection lost mid-file yields the records before the cut and a `truncated_warc` reject.

    Unlike `Fetcher`, this is synchronous, like `read_warc` and the WARC ingest path that consumes it, and the
    whole file is not capped (each record is, by `max_bytes`); robots.txt is not read (a data host)."""
    policy = policy or FetchPolicy()
    counts = counts if counts is not None else WarcCounts()
    wanted = frozenset(h.lower().strip(".") for h in hosts) if hosts is not None else None
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    # identity: the file's own bytes. A .warc.gz is many gzip members, which read_warc reads itself; httpx's
    # Content-Encoding decoder would stop after the first.
    headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "identity"}
    with httpx.Client(
        timeout=timeout, headers=headers, follow_redirects=False, trust_env=False, verify=tls_context()
    ) as client:
        opened = _open_stream(client, url, policy)
        if isinstance(opened, Reject):
            counts.rejects += 1
            yield WarcReject(0, Reject(opened.reason, f"{shown_url(url)}: {opened.detail}"))
            return
        with contextlib.closing(opened) as response:
            stream = _ResponseFile(response)
            cut = False
            for item in read_warc(stream, max_bytes=max_bytes, keywords=keywords, hosts=hosts, counts=counts):
                if wanted is not None and item.target_uri and not host_wanted(item.target_uri, wanted):
                    if isinstance(item, WarcResponse):
                        counts.responses -= 1
                        counts.skipped["other_host"] += 1
                    else:
                        counts.rejects -= 1
                        counts.skipped["other_host"] += 1
                    continue
                cut = cut or (isinstance(item, WarcReject) and item.reject.reason == "truncated_warc")
                yield item
            if stream.error is not None and not cut:  # the cut fell between records: read_warc saw a clean end
                counts.rejects += 1
                yield WarcReject(
                    stream.received,
                    Reject("truncated_warc", f"offset {stream.received}: connection lost ({stream.error})"[:300]),
                )


def _open_stream(client: httpx.Client, url: str, policy: FetchPolicy) -> httpx.Response | Reject:
    """The response, its body not read yet, or why there is none."""
    checked = parse_url(url, normalize=False)
    if isinstance(checked, Reject):
        return checked
    parts = urlsplit(checked)
    refused = _check_address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), policy)
    if refused:
        return refused
    problem = Reject("connect_error", "no attempt")
    for attempt in range(1, policy.max_attempts + 1):
        retry_after = None
        try:
            response = client.send(client.build_request("GET", checked), stream=True)
        except httpx.TimeoutException as exc:
            problem = Reject("timeout", f"{type(exc).__name__}")
        except httpx.TransportError as exc:
            problem = Reject("connect_error", f"{type(exc).__name__}: {exc}"[:300])
        else:
            if response.status_code == 200:
                return response
            response.close()
            problem = Reject(f"http_{response.status_code}", f"HTTP {response.status_code}")
            if response.status_code not in RETRY_STATUSES:
                return problem
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if attempt < policy.max_attempts:
            time.sleep(_backoff(policy, attempt, retry_after))
    return problem


def _check_address(host: str, port: int, policy: FetchPolicy) -> Reject | None:
    """The fetcher's SSRF rule: every address the name resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return Reject("dns_error", f"cannot resolve {host}: {exc.strerror or exc}")
    if all(policy.allows_address(info[4][0].split("%")[0]) for info in infos):
        return None
    return Reject("private_address", f"{host} resolves to a private, loopback, link-local or multicast address")


def _backoff(policy: FetchPolicy, attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, policy.backoff_max)
    ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class _ResponseFile(io.RawIOBase):
    """An httpx streaming response as a read-only, unseekable binary file. A transport error mid-body ends the
    file (`error` says why), so the reader sees a file cut short rather than an exception."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.iter_raw()  # as received: a chunk size would lose a partial chunk to an error
        self._pending = memoryview(b"")
        self.received = 0
        self.error: Exception | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self.error is not None:
                return 0
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except httpx.HTTPError as exc:
                self.error = exc
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.received += size
        return size


__all__ = [
    "CCNEWS_BASE_URL",
    "WAYBACK_CDX_URL",
    "WAYBACK_INTERVAL",
    "WAYBACK_PLAYBACK_URL",
    "ArchivedCopy",
    "Snapshot",
    "WaybackClient",
    "archive_policy",
    "ccnews_listing_url",
    "ccnews_warcs",
    "playback_url",
    "stream_warc",
]
