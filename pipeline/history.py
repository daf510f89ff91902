"""A history backfill's day: the articles a source published that day, found in an archive of the past and
extracted as an ingest extracts fetched pages (same change detection; loaded by the run like any batch).

Archives:
- `sitemaps`: the source's sitemap index, opening only the child sitemaps that can hold the day (by their
  `lastmod`, or the date in their name: `sitemap-2022-03.xml`, `/sitemap/2022/03/05.xml`); the URLs whose
  `news:publication_date` (else `lastmod`) falls on the day are fetched live.
- `wayback`: the Wayback Machine's captures of the source's feed or section page that day, their links (those
  dated that day, or undated), fetched live; an article whose live page is gone (404/410, or a redirect to the
  home page or another site: `is_gone`) is read from its own earliest capture instead, with the capture as its
  provenance.
- `ccnews`: the CC-NEWS WARC files that can hold the day, streamed, keeping the records of the sources' hosts
  that the monitors' keywords can match (a byte pre-filter, before any HTML parsing) and that were crawled that
  day; loaded through the WARC path (`pipeline/warc.py`) with the WARC as provenance.

A (source, day, archive) is finished when its lookup (the sitemap index, the CDX query, the CC-NEWS listings
and files) did not fail for a reason that may pass (timeouts, 429, 5xx, a WARC cut short): the run records the
finished ones so a re-run skips them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

from extractors import ExtractOptions
from extractors.decode import GZIP_MAGIC, gunzip_capped
from extractors.listings import Link, listing_kind, parse_listing
from extractors.records import Reject
from extractors.urls import parse_url
from fetching.archives import (
    CCNEWS_BASE_URL,
    WAYBACK_CDX_URL,
    WAYBACK_INTERVAL,
    WAYBACK_PLAYBACK_URL,
    WaybackClient,
    ccnews_warcs,
    stream_warc,
)
from fetching.fetch import Fetcher, FetchPolicy, FetchResult
from fetching.warc import WarcCounts, WarcReject, WarcResponse
from pipeline.batches import ExtractedBatch, WarehouseState, extract_fetched
from pipeline.pool import ExtractionPool, default_workers
from pipeline.sources import Source
from pipeline.warc import WarcStream, read_ahead, warc_chunks, with_provenance
from pipeline.web import fetch_pages
from warehouse.load import RejectedDocument

Archive = Literal["sitemaps", "wayback", "ccnews"]
ARCHIVES: tuple[str, ...] = ("sitemaps", "wayback", "ccnews")
MAX_SITEMAPS = 200  # sitemaps opened for one source and day
READ_AHEAD_CHUNKS = 2  # chunks of CC-NEWS records read ahead of the one being extracted
GONE = ("http_404", "http_410")
log = logging.getLogger("mediamon.pipeline")
Logger = logging.Logger | logging.LoggerAdapter

# A date in a sitemap's path: 2022, 2022-03, 2022/03/05, 20220305 (the last one in the path counts).
_PATH_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:[-/_.]?(0[1-9]|1[0-2])(?:[-/_.]?(0[1-9]|[12]\d|3[01]))?)?(?!\d)")
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
_MONITOR_TOKEN = re.compile(r'"([^"]*)"|([^\s()"]+)')


@dataclass(frozen=True)
class ArchiveEndpoints:
    """Where the archives are (settings `wayback_cdx_url`, `wayback_playback_url`, `ccnews_base_url`), and the
    spacing of requests to the Wayback Machine."""

    wayback_cdx_url: str = WAYBACK_CDX_URL
    wayback_playback_url: str = WAYBACK_PLAYBACK_URL
    ccnews_base_url: str = CCNEWS_BASE_URL
    wayback_interval: float = WAYBACK_INTERVAL


@dataclass(frozen=True)
class HistoryTarget:
    """One source to look up in one archive."""

    source: str
    kind: str
    location: str
    archive: str
    policy: FetchPolicy = field(default_factory=FetchPolicy)

    @property
    def hosts(self) -> frozenset[str]:
        """The source's host, without `www.` (CC-NEWS keeps the hosts under it too)."""
        host = (urlsplit(self.location).hostname or "").lower()
        return frozenset({host.removeprefix("www.")} if host else ())


@dataclass
class HistoryDay:
    """A day's batch and the (source, archive, found) it finished."""

    batch: ExtractedBatch = field(default_factory=ExtractedBatch)
    finished: list[tuple[str, str, int]] = field(default_factory=list)


def history_targets(
    sources: dict[str, Source], names: list[str], archives: list[str], base: FetchPolicy
) -> list[HistoryTarget]:
    """The (source, archive) pairs to look up: the named sources (all when none is named) in the chosen archives;
    none chosen means what fits each source, sitemaps for a sitemap source and the Wayback Machine for a feed or a
    page (CC-NEWS only when asked). A sitemap archive fits only sitemap sources; local files and URL lists have
    no past to look up."""
    unknown = sorted(set(archives) - set(ARCHIVES))
    if unknown:
        raise ValueError(f"unknown archive(s) {', '.join(unknown)}; known: {', '.join(ARCHIVES)}")
    targets = []
    for name, source in sources.items():
        if (names and name not in names) or source.kind not in ("sitemap", "feed", "page"):
            continue
        fitting = ["sitemaps"] if source.kind == "sitemap" else ["wayback"]
        chosen = [a for a in ARCHIVES if a in archives] if archives else fitting
        for archive in chosen:
            if archive == "sitemaps" and source.kind != "sitemap":
                continue
            targets.append(HistoryTarget(name, source.kind, source.location, archive, source.fetch_policy(base)))
    return targets


def monitor_keywords(monitors: dict[str, str]) -> list[bytes | tuple[bytes, ...]] | None:
    """The byte patterns one of which a page must hold to match any monitor (`could_match`): every term of every
    query, a phrase as its words. None (no pre-filter) when there is no monitor, or a query has NOT, which can
    match a page holding none of its terms."""
    patterns: dict[bytes | tuple[bytes, ...], None] = {}
    for query in monitors.values():
        for phrase, word in _MONITOR_TOKEN.findall(query):
            if word == "NOT":
                return None
            if word in ("AND", "OR"):
                continue
            words = tuple(w.lower().rstrip("*").encode() for w in (phrase or word).split() if w.rstrip("*"))
            if words:
                patterns.setdefault(words[0] if len(words) == 1 else words, None)
    return list(patterns) or None


def history_day(
    day: date,
    targets: list[HistoryTarget],
    options: ExtractOptions,
    endpoints: ArchiveEndpoints,
    monitors: dict[str, str],
    state: WarehouseState,
    workers: int | None = None,
    batch_size: int = 100,
    logger: Logger = log,
) -> HistoryDay:
    """Find, fetch or read, and extract the day's articles of each target. CC-NEWS records are extracted on
    `workers` processes (None: one per CPU; 1: in this process) while the WARC is read on."""
    result, seen = HistoryDay(), set()
    for target in targets:
        if target.archive == "ccnews":
            continue
        lookup = _sitemap_day if target.archive == "sitemaps" else _wayback_day
        batch, ok = lookup(day, target, options, endpoints, state, seen)
        _merge(result.batch, batch)
        if ok:
            found = len(batch.articles) + len(batch.rejects) + batch.unchanged
            result.finished.append((target.source, target.archive, found))
        logger.info(
            "%s %s %s: %d articles, %d rejects, %d unchanged%s",
            day, target.source, target.archive, len(batch.articles), len(batch.rejects), batch.unchanged,
            "" if ok else " (not finished: will be tried again)",
        )  # fmt: skip
    ccnews = [t for t in targets if t.archive == "ccnews"]
    if ccnews:
        pool = ExtractionPool(workers or default_workers())  # processes start only for a large chunk
        try:
            batch, found, ok = _ccnews_day(
                day, ccnews, options, endpoints, monitors, state, seen, batch_size, pool, logger
            )
        finally:
            pool.close(wait=True)  # the day's load comes next: its memory is not added to the workers' (bench/archive)
        _merge(result.batch, batch)
        if ok:
            result.finished += [(t.source, "ccnews", found[t.source]) for t in ccnews]
    return result


def _merge(into: ExtractedBatch, batch: ExtractedBatch) -> None:
    into.articles += batch.articles
    into.rejects += batch.rejects
    into.fetches += batch.fetches
    into.unchanged += batch.unchanged


def is_transient(reject: Reject) -> bool:
    """Whether a failed lookup may succeed later (so its day is not finished)."""
    reason = reject.reason
    return reason in ("timeout", "connect_error", "http_429", "truncated_warc") or reason.startswith("http_5")


# --- sitemaps ----------------------------------------------------------------------------------------------------


def could_hold(sitemap_url: str, lastmod: datetime | None, day: date) -> bool:
    """Whether a child sitemap can list articles of `day` (UTC): not when it was last modified before the day,
    nor when its path names a year, month or day more than a day away (a publisher partitions by its own time
    zone, so its 5 March can hold articles of the 4th or the 6th in UTC)."""
    if lastmod is not None and lastmod.date() < day:
        return False
    dated = _PATH_DATE.findall(urlsplit(sitemap_url).path)
    if not dated:
        return True
    year, month, mday = (int(part) if part else None for part in dated[-1])
    try:
        if mday:
            first = last = date(year, month, mday)
        elif month:
            first, last = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        else:
            first, last = date(year, 1, 1), date(year, 12, 31)
    except ValueError:  # 2022/02/30: not a date after all
        return True
    return first - timedelta(days=1) <= day <= last + timedelta(days=1)


def index_lastmods(body: bytes, max_bytes: int) -> dict[str, datetime]:
    """A sitemap index's children and their `lastmod` (naive UTC), by the URL as the one parser spells it."""
    if body.startswith(GZIP_MAGIC):
        body = gunzip_capped(body, max_bytes)
        if isinstance(body, Reject):
            return {}
    try:
        root = etree.fromstring(body, _SAFE_XML)
    except etree.XMLSyntaxError:
        return {}
    found = {}
    for node in [] if root is None else root:
        loc = _child_text(node, "loc")
        stamp = _w3c_date(_child_text(node, "lastmod"))
        url = parse_url(loc) if loc else None
        if isinstance(url, str) and stamp is not None:
            found[url] = stamp
    return found


def _child_text(node: etree._Element, name: str) -> str | None:
    child = node.find(f"{_SITEMAP_NS}{name}")
    child = node.find(name) if child is None else child
    return child.text.strip() if child is not None and child.text else None


def _w3c_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


async def sitemap_links(
    fetcher: Fetcher, index_url: str, day: date, max_bytes: int
) -> tuple[list[Link], list[tuple[str, Reject]], bool]:
    """The links of the day under a sitemap index, the sitemaps' rejects, and whether the walk finished."""
    pending, seen = [index_url], {index_url}
    links: dict[str, Link] = {}
    rejects: list[tuple[str, Reject]] = []
    finished = True
    while pending:
        url = pending.pop(0)
        result = await fetcher.fetch(url, expect="any")
        if result.reject:
            rejects.append((url, result.reject))
            finished = finished and not is_transient(result.reject)
            continue
        listing = parse_listing(result.body, result.final_url, max_bytes)
        if isinstance(listing, Reject):
            rejects.append((url, listing))
            continue
        rejects.extend(listing.rejects)
        if listing.kind == "sitemap_index":
            lastmods = index_lastmods(result.body, max_bytes)
            for child in listing.sitemaps:
                if child in seen or not could_hold(child, lastmods.get(child), day):
                    continue
                if len(seen) >= MAX_SITEMAPS:
                    rejects.append((child, Reject("too_many_sitemaps", f"over {MAX_SITEMAPS} sitemaps for {day}")))
                    continue
                seen.add(child)
                pending.append(child)
        for link in listing.links:
            if link.published_at is not None and link.published_at.date() == day:
                links.setdefault(link.url, link)
    return list(links.values()), rejects, finished


def _sitemap_day(
    day: date,
    target: HistoryTarget,
    options: ExtractOptions,
    endpoints: ArchiveEndpoints,
    state: WarehouseState,
    seen: set[str],
) -> tuple[ExtractedBatch, bool]:
    async def walk():
        async with Fetcher(target.policy) as fetcher:
            return await sitemap_links(fetcher, target.location, day, options.max_bytes)

    links, rejects, finished = asyncio.run(walk())
    batch = _fetch_and_extract([link for link in links if link.url not in seen], target, options, state, seen)
    batch.rejects = [RejectedDocument(uri, "fetch", reject) for uri, reject in rejects] + batch.rejects
    return batch, finished


def _fetch_and_extract(
    links: list[Link], target: HistoryTarget, options: ExtractOptions, state: WarehouseState, seen: set[str]
) -> ExtractedBatch:
    seen.update(link.url for link in links)
    if not links:
        return ExtractedBatch()
    results = fetch_pages(links, {}, state, target.policy)
    return extract_fetched(links, results, state, target.source, options)


# --- Wayback Machine ---------------------------------------------------------------------------------------------


def page_links(body: bytes, base_url: str) -> list[Link]:
    """A section page's links to other pages of its host (an archived copy: relative links resolved against the
    page's original URL)."""
    try:
        root = html.fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    host = urlsplit(base_url).hostname
    links: dict[str, Link] = {}
    for href in root.xpath("//a/@href"):
        url = parse_url(urljoin(base_url, str(href).strip()))
        if isinstance(url, str) and urlsplit(url).hostname == host and url.split("#")[0] != base_url:
            links.setdefault(url, Link(url))
    return list(links.values())


def _wayback_day(
    day: date,
    target: HistoryTarget,
    options: ExtractOptions,
    endpoints: ArchiveEndpoints,
    state: WarehouseState,
    seen: set[str],
) -> tuple[ExtractedBatch, bool]:
    async def lookup(urls: list[str] | None = None):
        async with WaybackClient(
            target.policy, endpoints.wayback_cdx_url, endpoints.wayback_playback_url,
            interval=endpoints.wayback_interval,
        ) as wayback:  # fmt: skip
            if urls is not None:
                return await _article_copies(wayback, urls, day)
            return await _listed_links(wayback, target.location, day, options.max_bytes)

    links, rejects, finished = asyncio.run(lookup())
    links = [link for link in links if link.url not in seen]
    seen.update(link.url for link in links)
    results = fetch_pages(links, {}, state, target.policy) if links else []
    gone = [link.url for link, r in zip(links, results, strict=True) if is_gone(link.url, r)]
    provenance = {}
    if gone:
        copies = asyncio.run(lookup(gone))
        for index, (link, result) in enumerate(zip(links, results, strict=True)):
            copy = copies.get(link.url)
            if copy is not None and is_gone(link.url, result):
                served = dataclasses.replace(
                    copy.result, requested_url=link.url, final_url=link.url, redirects=(), fetched_at=copy.archived_at
                )
                results[index] = served
                provenance[link.url] = copy
    batch = extract_fetched(links, results, state, target.source, options) if links else ExtractedBatch()
    batch.fetches = [
        dataclasses.replace(
            record,
            archive="wayback",
            archive_uri=provenance[record.url].archive_uri,
            archive_record_id=provenance[record.url].snapshot.digest,
            archived_at=provenance[record.url].archived_at,
        )
        if record.url in provenance
        else record
        for record in batch.fetches
    ]
    batch.rejects = [RejectedDocument(uri, "fetch", reject) for uri, reject in rejects] + batch.rejects
    return batch, finished


def is_gone(url: str, result: FetchResult) -> bool:
    """Whether the live page no longer holds the article: it answers 404 or 410, or it redirects to its site's home
    page (a path of `/` or none, with or without a query) or to another site; the archived copy is read instead.
    A page that answers 200 where it was is kept as it is, even if rewritten since."""
    if result.reject is not None:
        return result.reject.reason in GONE
    if not result.redirects or result.final_url == url:
        return False
    before, after = urlsplit(url), urlsplit(result.final_url)
    other_site = (before.hostname or "").removeprefix("www.") != (after.hostname or "").removeprefix("www.")
    return other_site or after.path in ("", "/")


async def _listed_links(
    wayback: WaybackClient, location: str, day: date, max_bytes: int
) -> tuple[list[Link], list[tuple[str, Reject]], bool]:
    """The links of the day in the captures of a feed or section page that day."""
    snapshots = await wayback.snapshots(location, day, day)
    if isinstance(snapshots, Reject):
        return [], [(location, snapshots)], not is_transient(snapshots)
    links: dict[str, Link] = {}
    rejects: list[tuple[str, Reject]] = []
    finished = True
    for copy in await wayback.fetch_snapshots(snapshots):
        if copy.reject:
            rejects.append((wayback.playback_url(copy.snapshot), copy.reject))
            finished = finished and not is_transient(copy.reject)
            continue
        body, original = copy.result.body, copy.snapshot.original
        if listing_kind(body, copy.result.content_type) is None:
            listed = page_links(body, original)
        else:
            listing = parse_listing(body, original, max_bytes)
            listed = [] if isinstance(listing, Reject) else list(listing.links)
        for link in listed:
            if link.published_at is None or link.published_at.date() == day:
                links.setdefault(link.url, link)
    return list(links.values()), rejects, finished


async def _article_copies(wayback: WaybackClient, urls: list[str], day: date) -> dict:
    """The earliest capture from `day` on of each article gone from the live site, as an `ArchivedCopy`."""
    copies = {}
    for url in urls:
        snapshots = await wayback.snapshots(url, day, max(day, date.today()))
        if isinstance(snapshots, Reject) or not snapshots:
            continue
        copy = await wayback.fetch_snapshot(snapshots[0], expect="page")
        if not copy.reject:
            copies[url] = copy
    return copies


# --- CC-NEWS -----------------------------------------------------------------------------------------------------


def _ccnews_day(
    day: date,
    targets: list[HistoryTarget],
    options: ExtractOptions,
    endpoints: ArchiveEndpoints,
    monitors: dict[str, str],
    state: WarehouseState,
    seen: set[str],
    batch_size: int,
    pool: ExtractionPool,
    logger: Logger,
) -> tuple[ExtractedBatch, Counter, bool]:
    """The day's records of the targets' hosts, the records found per source, and whether the day finished.

    The WARC is read (decompressed, pre-filtered) on a thread a few chunks ahead, while this thread waits for
    the pool's processes to extract the chunk before: reading and extraction overlap (bench/archive)."""
    policy = targets[0].policy
    found: Counter = Counter()
    by_host = {host: t.source for t in targets for host in t.hosts}
    keywords = monitor_keywords(monitors)
    out, finished = ExtractedBatch(), True
    for warc in ccnews_warcs(day, day, endpoints.ccnews_base_url, policy):
        if isinstance(warc, Reject):  # a monthly listing that could not be read
            out.rejects.append(RejectedDocument(endpoints.ccnews_base_url, "fetch", warc))
            finished = finished and not is_transient(warc)
            continue
        counts = WarcCounts()
        records = stream_warc(
            warc, policy=policy, hosts=set(by_host), keywords=keywords, max_bytes=options.max_bytes, counts=counts
        )
        broken: list[WarcReject] = []
        day_records = _day_records(records, day, seen, counts, broken)
        chunks = warc_chunks(WarcStream(warc, day_records), options.max_bytes, batch_size, counts)
        for chunk in read_ahead(chunks, READ_AHEAD_CHUNKS):
            found.update(_source_of(link.url, by_host) for link in chunk.links)
            batch = with_provenance(extract_fetched(chunk.links, chunk.results, state, None, options, pool), chunk)
            batch.fetches = [
                dataclasses.replace(record, source_name=_source_of(record.url, by_host)) for record in batch.fetches
            ]
            _merge(out, batch)
        finished = finished and not any(is_transient(item.reject) for item in broken)
        skipped = ", ".join(f"{kind} {n}" for kind, n in counts.skipped.most_common()) or "none"
        kept = counts.responses - counts.skipped["other_day"]
        logger.info("%s ccnews %s: %d records kept, %d rejects; skipped: %s", day, warc, kept, len(broken), skipped)
    return out, found, finished


def _day_records(
    items: Iterator[WarcResponse | WarcReject], day: date, seen: set[str], counts: WarcCounts, broken: list
) -> Iterator[WarcResponse | WarcReject]:
    """The records crawled on `day` not read yet this day (a file holds the hours after its name's time, so the
    day's first file starts the day before), and every broken one (also kept in `broken`)."""
    for item in items:
        if isinstance(item, WarcReject):
            broken.append(item)
            yield item
        elif item.warc_date.date() == day and item.target_uri not in seen:
            seen.add(item.target_uri)
            yield item
        else:
            counts.skipped["other_day"] += 1


def _source_of(url: str, by_host: dict[str, str]) -> str | None:
    labels = (urlsplit(url).hostname or "").lower().split(".")
    for i in range(len(labels)):
        source = by_host.get(".".join(labels[i:]))
        if source is not None:
            return source
    return None
