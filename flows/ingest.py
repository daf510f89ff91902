"""The ingest flow: find documents (files, feeds, sitemaps, URL lists, pages), extract them in batches,
load each batch in one transaction."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from config.settings import DEFAULT_BATCH_SIZE, DEFAULT_DB
from extractors import EXTRACTOR_VERSION, Article, ExtractOptions, Reject, document_kind
from extractors.display import printable
from extractors.document import DEFAULT_MAX_BYTES
from extractors.language import MIN_PROBABILITY
from extractors.listings import Link
from extractors.records import sha256_hex
from extractors.urls import strip_userinfo
from fetching.discover import discover_links
from fetching.fetch import HTML_TYPES, Fetcher, FetchPolicy, FetchResult, Validators
from fetching.files import FoundFile, discover_documents, read_document
from flows.runners import configured_task_runner, dask_threads
from pipeline.pool import ExtractionPool, ExtractJob, default_workers
from pipeline.progress import progress_bar
from similarity.monitors import DEFAULT_MONITORS, parse_query
from warehouse.db import is_write_conflict, open_writer
from warehouse.dedup import DedupSettings, dedup_is_current, update_duplicates
from warehouse.load import (
    FetchRecord,
    LoadCounts,
    RejectedDocument,
    count_run_duplicates,
    finish_run,
    known_documents,
    load_batch,
    start_run,
    stored_fetches,
)
from warehouse.monitors import update_monitor_matches
from warehouse.search import refresh_search_index, search_index_state

DEFAULT_FETCH_POLICY = FetchPolicy()
DEFAULT_DEDUP = DedupSettings()


def _lost_a_write_conflict(task, task_run, state) -> bool:
    return is_write_conflict(state.result(raise_on_failure=False))


# Writing tasks are retried only when their commit lost to another writer on a DuckLake warehouse (each is one
# transaction, so a retry starts clean); any other failure fails at once.
WRITE_RETRIES = {
    "retries": 12,
    "retry_delay_seconds": [0.2, 0.5, 1, 2, 3, 5, 5, 5, 10, 10, 10, 10],
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": _lost_a_write_conflict,
}


@dataclass
class WarehouseState:
    """What is already loaded: bytes per source (to skip unchanged ones) and the last fetch per URL."""

    documents: dict[str, tuple[str, str]] = field(default_factory=dict)
    fetches: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)

    def is_unchanged(self, source_uri: str, raw: bytes) -> bool:
        return self.documents.get(source_uri) == (sha256_hex(raw), EXTRACTOR_VERSION)

    def validators(self, url: str) -> Validators | None:
        etag, last_modified, _ = self.fetches.get(url, (None, None, None))
        return Validators(etag, last_modified) if etag or last_modified else None


@dataclass
class ExtractedBatch:
    articles: list[Article] = field(default_factory=list)
    rejects: list[RejectedDocument] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    unchanged: int = 0

    def release(self) -> None:
        """Drop the documents once loaded. Prefect's record of the task that returned this batch sits in a
        reference cycle until Python's cyclic garbage collector runs, minutes later: at 100,000 pages the batches
        kept that way held up to 250 MB."""
        self.articles, self.rejects, self.fetches = [], [], []

    def add(self, source_uri: str, stage: str, result: Article | Reject) -> None:
        if isinstance(result, Reject):  # logged as counts per reason when the batch loads (log_rejects)
            self.rejects.append(RejectedDocument(source_uri, stage, result))
        else:
            self.articles.append(result)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def prepare_warehouse(db: str, run_id: str, parameters: dict, flow_name: str = "ingest") -> WarehouseState:
    """Migrate, open the run's row, and read what is already loaded."""
    with open_writer(db) as conn:
        start_run(conn, run_id, flow_name, parameters)
        return WarehouseState(known_documents(conn), stored_fetches(conn))


@task(cache_policy=NO_CACHE)
def find_files(paths: list[str], follow_symlinks: bool = False) -> tuple[list[FoundFile], list[tuple[str, Reject]]]:
    return discover_documents(paths, follow_symlinks)


@task(cache_policy=NO_CACHE)
def extract_files(
    paths: list[FoundFile], state: WarehouseState, options: ExtractOptions, pool: ExtractionPool
) -> ExtractedBatch:
    """Read a batch of files and extract them on the pool; bytes already loaded by this extractor version are
    skipped before any extraction."""
    batch, jobs = ExtractedBatch(), []
    for found in paths:
        uri = found.uri  # file:// + the resolved path; a read reject is keyed by the path as named (stable)
        raw = read_document(found.path, options.max_bytes)
        if isinstance(raw, Reject):
            batch.add(found.reject_uri, "read", raw)
        elif state.is_unchanged(uri, raw):
            batch.unchanged += 1
        else:
            jobs.append(ExtractJob(raw, uri, document_kind(found.path.name)))
    for job, result in zip(jobs, pool.extract(jobs, options), strict=True):
        batch.add(job.source_uri, "extract", result)
    return batch


@task(cache_policy=NO_CACHE)
def discover_web(
    urls: list[str], url_lists: list[str], state: WarehouseState, policy: FetchPolicy
) -> tuple[list[Link], dict, list]:
    """Expand feeds, sitemaps and URL lists into article links (pages given directly are their own link)."""
    validators = {url: state.validators(url) for url in urls if state.validators(url)}

    async def run():
        async with Fetcher(policy) as fetcher:
            return await discover_links(fetcher, urls, url_lists, policy.max_bytes, validators)

    found = asyncio.run(run())
    return list(found.links.values()), found.prefetched, found.rejects


@task(cache_policy=NO_CACHE)
def fetch_pages(
    links: list[Link], prefetched: dict[str, FetchResult], state: WarehouseState, policy: FetchPolicy
) -> list[FetchResult]:
    """Fetch a batch concurrently (conditional GETs where validators are stored); pages already fetched
    while discovering links are taken from `prefetched`."""
    todo = [link.url for link in links if link.url not in prefetched]
    validators = {url: state.validators(url) for url in todo if state.validators(url)}

    async def run():
        async with Fetcher(policy) as fetcher:
            return await fetcher.fetch_many(todo, validators)

    fetched = {result.requested_url: result for result in asyncio.run(run())} if todo else {}
    return [prefetched.get(link.url) or fetched[link.url] for link in links]


@task(cache_policy=NO_CACHE)
def extract_fetched(
    links: list[Link],
    results: list[FetchResult],
    state: WarehouseState,
    source_name: str | None,
    options: ExtractOptions,
    pool: ExtractionPool | None = None,
) -> ExtractedBatch:
    """Extract fetched pages (on the pool when given); a 304 or an unchanged body costs no extraction."""
    batch, jobs = ExtractedBatch(), []
    for link, result in zip(links, results, strict=True):
        if result.reject:
            batch.add(link.url, "fetch", result.reject)
            continue
        if result.not_modified:
            batch.unchanged += 1
            continue
        if result.content_type and result.content_type not in HTML_TYPES:
            batch.add(result.final_url, "fetch", Reject("not_html", f"Content-Type {result.content_type}"))
            continue
        raw_sha256 = sha256_hex(result.body)
        if state.fetches.get(link.url) != (result.etag, result.last_modified, raw_sha256):
            batch.fetches.append(_fetch_record(link, result, source_name, raw_sha256))
        if state.is_unchanged(result.final_url, result.body):
            batch.unchanged += 1
            continue
        jobs.append((link, ExtractJob(result.body, result.final_url, "html", result.final_url, result.charset)))
    extracted = (pool or ExtractionPool(1)).extract([job for _, job in jobs], options)
    for (link, job), article in zip(jobs, extracted, strict=True):
        if isinstance(article, Article) and article.published_at is None and link.published_at:
            article = dataclasses.replace(article, published_at=link.published_at)
        batch.add(job.source_uri, "extract", article)
    return batch


def _fetch_record(link: Link, result: FetchResult, source_name: str | None, raw_sha256: str) -> FetchRecord:
    return FetchRecord(
        url=link.url,
        final_url=result.final_url,
        status=result.status,
        redirects=result.redirects,
        content_type=result.content_type or None,
        charset=result.charset,
        etag=result.etag,
        last_modified=result.last_modified,
        body_gzip=gzip.compress(result.body, compresslevel=6, mtime=0),
        body_bytes=len(result.body),
        raw_sha256=raw_sha256,
        listed_published_at=link.published_at,
        source_name=source_name,
        fetched_at=result.fetched_at,
        attempts=result.attempts,
    )


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def load_extracted(db: str, batch: ExtractedBatch, run_id: str) -> LoadCounts:
    """Load a batch in one transaction, on one DuckDB thread: loads run while the extraction workers keep the
    cores busy, where DuckDB's parallel execution only adds CPU (a third more per article, measured)."""
    with open_writer(db) as conn:
        conn.execute("SET threads = 1")
        return load_batch(conn, batch.articles, batch.rejects, run_id, batch.unchanged, batch.fetches)


def log_rejects(rejects: list[RejectedDocument]) -> None:
    """One line per batch with its rejects counted by stage and reason, never a line per document: a feed of
    100,000 refused links wrote 27 MB of warnings, and the run spent 55 s after its end sending them to the
    server. The rows themselves are in the `rejects` table."""
    if rejects:
        by_reason = Counter(f"{r.stage}/{r.reject.reason}" for r in rejects)
        listed = ", ".join(f"{reason} {n}" for reason, n in by_reason.most_common())
        example = rejects[0]
        get_run_logger().warning(
            "%d rejected (%s); e.g. %s: %s; see the rejects table",
            len(rejects),
            listed,
            printable(example.source_uri[:200]),
            example.reject.reason,
        )


def load_changes(db: str, batch: ExtractedBatch, run_id: str) -> LoadCounts:
    """Load a batch, unless it only counts unchanged documents: those cost no task run and leave the warehouse
    closed (a re-run over an unchanged corpus is all such batches). The batch is released after."""
    log_rejects(batch.rejects)
    try:
        if not (batch.articles or batch.rejects or batch.fetches):
            return LoadCounts(unchanged=batch.unchanged)
        return load_extracted(db, quote(batch), run_id)
    finally:
        batch.release()


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def deduplicate(db: str, run_id: str, settings: DedupSettings, pool: ExtractionPool, changed: bool = True) -> int:
    """Update duplicates and stories over the whole warehouse, per-article work on the pool; returns this run's
    copies. A run that `changed` no article skips the update when dedup is current (every signature current and
    no update cut short)."""
    with open_writer(db) as conn:
        if changed or not dedup_is_current(conn, settings):
            update_duplicates(conn, settings, pool.map)
        return count_run_duplicates(conn, run_id)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def match_monitors(db: str, run_id: str, monitors: dict[str, str], pool: ExtractionPool) -> None:
    with open_writer(db) as conn:
        update_monitor_matches(conn, monitors, run_id, pool.map)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def refresh_search(db: str) -> None:
    """Index the articles the search index misses (loads index their own; this catches up older warehouses)."""
    with open_writer(db) as conn:
        if search_index_state(conn) is not None:
            refresh_search_index(conn)


def update_derived(
    db: str,
    run_id: str,
    dedup: DedupSettings,
    monitors: dict[str, str],
    pool: ExtractionPool,
    changed: bool = True,
) -> int:
    """Duplicates, the search index's catch-up, then monitor matches; returns this run's copies."""
    duplicates = deduplicate(db, run_id, dedup, pool, changed)
    refresh_search(db)
    match_monitors(db, run_id, monitors, pool)
    return duplicates


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def close_run(db: str, run_id: str, status: str, seen: int, counts: LoadCounts) -> None:
    with open_writer(db) as conn:
        finish_run(conn, run_id, status, seen, counts)


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@flow(name="ingest", task_runner=configured_task_runner())
def ingest(
    paths: list[str] = (),
    urls: list[str] = (),
    url_lists: list[str] = (),
    db: str = str(DEFAULT_DB),
    source_name: str | None = None,
    batch_size: Annotated[int, Field(ge=1)] = DEFAULT_BATCH_SIZE,
    max_document_bytes: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BYTES,
    language_min_probability: Annotated[float, Field(ge=0, le=1)] = MIN_PROBABILITY,
    fetch_policy: FetchPolicy = DEFAULT_FETCH_POLICY,
    dedup: DedupSettings = DEFAULT_DEDUP,
    monitors: dict[str, str] = DEFAULT_MONITORS,
    extract_workers: Annotated[int | None, Field(ge=1)] = None,
    follow_symlinks: bool = False,
) -> dict:
    """Load documents into the warehouse; returns the run's counts.

    (Descriptions live here, not in `Field`s: Prefect's run form takes them from this section.)

    Args:
        paths: Files or folders (.txt, .html, .htm, .gz) to load
        urls: URLs: feeds and sitemaps are expanded, any other page is an article
        url_lists: URLs of text files listing one article URL per line
        db: Warehouse: a DuckDB file, or ducklake:sqlite:CATALOG
        source_name: Name of the source being ingested, if any
        batch_size: Documents per extraction and load batch
        max_document_bytes: Larger documents are rejected
        language_min_probability: Below this langdetect probability, language is NULL
        fetch_policy: Politeness, timeouts, limits, SSRF allowance
        dedup: Near-duplicate and story thresholds
        monitors: Topic monitors, name -> boolean keyword query
        extract_workers: Extraction processes; empty means one per CPU, 1 extracts in-process
        follow_symlinks: Read symlinks in folders that lead outside the folder (else rejects outside_root)
    """
    logger = get_run_logger()
    for query in monitors.values():
        parse_query(query)  # a bad monitor query fails the run before anything is written
    run_id = flow_run.get_id() or str(uuid.uuid4())
    options = ExtractOptions(max_bytes=max_document_bytes, language_min_probability=language_min_probability)
    policy = dataclasses.replace(fetch_policy, max_bytes=max_document_bytes)
    parameters = {
        "paths": list(paths),
        "urls": [strip_userinfo(u) for u in urls],  # credentials are never stored
        "url_lists": [strip_userinfo(u) for u in url_lists],
        "db": db,
        "source_name": source_name,
        "batch_size": batch_size,
        "extract_workers": extract_workers,
    }
    state = prepare_warehouse(db, run_id, parameters)
    counts, seen = LoadCounts(), 0
    try:
        files, missing = find_files(list(paths), follow_symlinks) if paths else ([], [])
        links, prefetched, listing_rejects = (
            discover_web(list(urls), list(url_lists), quote(state), policy) if (urls or url_lists) else ([], {}, [])
        )
        early = [RejectedDocument(uri, "read", r) for uri, r in missing]
        early += [RejectedDocument(uri, "fetch", r) for uri, r in listing_rejects]
        seen = len(files) + len(links) + len(early)
        if early:
            counts += load_changes(db, ExtractedBatch(rejects=early), run_id)
        # On the default runner a batch is extracted (in a thread feeding the process pool) while the one before
        # loads; on Dask, batches are extracted on the workers, two per worker thread in flight, loads staying
        # here. quote() spares Prefect walking the state's dict on every call (prefect-dask does not unwrap it).
        threads = dask_threads()
        shared = quote(state) if threads is None else state
        in_flight = 1 if threads is None else 2 * threads
        workers = 1 if threads is not None else extract_workers or default_workers()
        pending: deque[tuple[PrefectFuture, int]] = deque()
        with (
            progress_bar("ingest", total=len(files) + len(links), unit="documents") as bar,
            ExtractionPool(workers) as pool,
        ):

            def load_ready(keep: int) -> None:
                """Load the oldest extracted batches until at most `keep` are still in flight."""
                nonlocal counts
                while len(pending) > keep:
                    extracting, size = pending.popleft()
                    counts += load_changes(db, extracting.result(), run_id)
                    bar.advance(size)

            for chunk in _chunks(files, batch_size):
                pending.append((extract_files.submit(chunk, shared, options, pool), len(chunk)))
                load_ready(in_flight)
            for chunk in _chunks(links, batch_size):
                # One fetch batch at a time, so the per-host politeness limits hold for the run.
                listed = {link.url: prefetched[link.url] for link in chunk if link.url in prefetched}
                results = fetch_pages.submit(chunk, listed, shared, policy)
                results.wait()
                extracting = extract_fetched.submit(chunk, results, shared, source_name, options, pool)
                pending.append((extracting, len(chunk)))
                load_ready(in_flight)
            load_ready(0)
            changed = counts.loaded + counts.updated > 0
            duplicates = update_derived(db, run_id, dedup, monitors, pool, changed)
        counts = dataclasses.replace(counts, duplicates=duplicates)
    except BaseException:
        close_run(db, run_id, "failed", seen, counts)
        raise
    close_run(db, run_id, "completed", seen, counts)
    summary = {"run_id": run_id, "db": db, "seen": seen, **counts.as_dict()}
    create_table_artifact(
        key="ingest-counts",
        table=[{"count": k, "value": v} for k, v in summary.items() if k != "db"],
        description=f"Ingest into {db}",
    )
    logger.info("ingest finished: %s", summary)
    return summary
