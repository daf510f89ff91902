"""An ingest run without Prefect: find the documents (files, feeds, sitemaps, URL lists, pages), read or fetch
and extract them in batches, load each batch in one transaction, then update the derived tables.

The steps are injected (`IngestSteps`): plain functions by default, the flow's tasks in `flows/ingest.py`, so
the same run loop serves both, and tests drive it with a plain executor or direct calls.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from extractors import ExtractOptions
from extractors.listings import Link
from extractors.urls import strip_userinfo
from fetching.fetch import FetchPolicy, FetchResult
from fetching.files import FoundFile, discover_documents
from fetching.warc import WarcCounts
from pipeline.batches import ExtractedBatch, extract_fetched, extract_files
from pipeline.pool import ExtractionPool, default_workers
from pipeline.progress import progress_bar
from pipeline.runs import (
    NEAR_DUPLICATES_EVERY,
    Pending,
    Run,
    RunSteps,
    Submit,
    call_now,
    chunks,
    load_in_order,
    open_run,
)
from pipeline.warc import WarcChunk, describe_counts, is_warc, warc_chunks, with_provenance
from pipeline.web import discover_web, fetch_pages
from similarity.monitors import parse_query
from warehouse.checks import DataChecksFailed
from warehouse.dedup import DedupSettings
from warehouse.load import RejectedDocument


@dataclass(frozen=True)
class IngestRequest:
    """What to ingest and how; `parameters` is what the run's row records."""

    db: str
    run_id: str
    paths: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    url_lists: list[str] = field(default_factory=list)
    source_name: str | None = None
    batch_size: int = 100
    options: ExtractOptions = field(default_factory=ExtractOptions)
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    monitors: dict[str, str] = field(default_factory=dict)
    follow_symlinks: bool = False
    parameters: dict = field(default_factory=dict)


def ingest_request(
    db: str,
    run_id: str,
    *,
    paths: list[str] = (),
    urls: list[str] = (),
    url_lists: list[str] = (),
    source_name: str | None = None,
    batch_size: int,
    options: ExtractOptions,
    policy: FetchPolicy,
    dedup: DedupSettings,
    monitors: dict[str, str],
    follow_symlinks: bool = False,
    extract_workers: int | None = None,
) -> IngestRequest:
    """The request for a run's parameters (the ingest flow's): every monitor query is parsed first, so a bad one
    fails the run before anything is written (QueryError); no page larger than the documents' limit is fetched;
    the run's row records the parameters with any credentials taken out of the URLs."""
    for query in monitors.values():
        parse_query(query)
    return IngestRequest(
        db=db,
        run_id=run_id,
        paths=list(paths),
        urls=list(urls),
        url_lists=list(url_lists),
        source_name=source_name,
        batch_size=batch_size,
        options=options,
        policy=dataclasses.replace(policy, max_bytes=options.max_bytes),
        dedup=dedup,
        monitors=dict(monitors),
        follow_symlinks=follow_symlinks,
        parameters={
            "paths": list(paths),
            "urls": [strip_userinfo(u) for u in urls],  # credentials are never stored
            "url_lists": [strip_userinfo(u) for u in url_lists],
            "db": db,
            "source_name": source_name,
            "batch_size": batch_size,
            "extract_workers": extract_workers,
        },
    )


@dataclass
class IngestSteps:
    """The steps of an ingest run. `submit(step, *args)` starts the batch steps (extraction, fetching);
    `max_pending` bounds the batches started and not yet loaded; `extract_workers` sizes the extraction pool;
    `near_duplicates_every` is how many loaded or changed articles wait for a near-duplicate pass between loads."""

    run: RunSteps = field(default_factory=RunSteps)
    find_files: Callable[..., tuple[list[FoundFile], list]] = discover_documents
    discover_web: Callable[..., tuple[list[Link], dict[str, FetchResult], list]] = discover_web
    fetch_pages: Callable[..., list[FetchResult]] = fetch_pages
    extract_files: Callable[..., ExtractedBatch] = extract_files
    extract_fetched: Callable[..., ExtractedBatch] = extract_fetched
    submit: Submit = call_now
    max_pending: int = 2
    extract_workers: int | None = None
    near_duplicates_every: int = NEAR_DUPLICATES_EVERY


def ingest_documents(request: IngestRequest, steps: IngestSteps | None = None) -> dict:
    """Run an ingest; returns its summary (run id, warehouse, seen and the load counts)."""
    steps = steps or IngestSteps()
    try:
        with open_run(request.db, request.run_id, request.parameters, "ingest", steps.run) as run:
            _ingest(run, request, steps)
    except DataChecksFailed as failed:
        failed.summary = _summary(request, run)  # loaded and committed: callers still report the counts
        raise
    return _summary(request, run)


def _summary(request: IngestRequest, run: Run) -> dict:
    return {"run_id": request.run_id, "db": request.db, "seen": run.seen, **run.counts.as_dict()}


def _ingest(run: Run, request: IngestRequest, steps: IngestSteps) -> None:
    state, submit = run.state, steps.submit
    found, missing = steps.find_files(list(request.paths), request.follow_symlinks) if request.paths else ([], [])
    files = [f for f in found if not is_warc(f.path.name)]
    warcs = [f for f in found if is_warc(f.path.name)]
    links, prefetched, listing_rejects = (
        steps.discover_web(list(request.urls), list(request.url_lists), state, request.policy)
        if (request.urls or request.url_lists)
        else ([], {}, [])
    )
    early = [RejectedDocument(uri, "read", r) for uri, r in missing]
    early += [RejectedDocument(uri, "fetch", r) for uri, r in listing_rejects]
    run.seen = len(files) + len(links) + len(early)  # WARC records are counted as they are read
    if early:
        run.load(ExtractedBatch(rejects=early))
    with (
        progress_bar("ingest", total=len(files) + len(links), unit="documents") as bar,
        ExtractionPool(steps.extract_workers or default_workers()) as pool,
    ):
        # After a load, the batches started since go on extracting on the pool while this process finds the
        # near-duplicates of the articles loaded so far, once enough are (Run.catch_up_duplicates).
        def load(chunk: list, batch: ExtractedBatch) -> None:
            run.load(batch)
            bar.advance(len(chunk))
            run.catch_up_duplicates(request.dedup, steps.near_duplicates_every)

        def load_warc(chunk: WarcChunk, batch: ExtractedBatch) -> None:
            run.seen += len(chunk)
            run.load(with_provenance(batch, chunk))
            run.catch_up_duplicates(request.dedup, steps.near_duplicates_every)

        def start_files(chunk: list[FoundFile]) -> Pending:
            return submit(steps.extract_files, chunk, state, request.options, pool)

        def start_links(chunk: list[Link]) -> Pending:
            # One fetch batch at a time, so the per-host politeness limits hold for the run.
            listed = {link.url: prefetched[link.url] for link in chunk if link.url in prefetched}
            results = submit(steps.fetch_pages, chunk, listed, state, request.policy).result()
            return submit(steps.extract_fetched, chunk, results, state, request.source_name, request.options, pool)

        def start_warc(chunk: WarcChunk) -> Pending:
            return submit(
                steps.extract_fetched, chunk.links, chunk.results, state, request.source_name, request.options, pool
            )

        # Files first, then pages, then WARC records (streamed: a chunk is read when the loop asks for it), through
        # one loop: the first page batch starts while the last files load.
        warc_counts = {warc.path: WarcCounts() for warc in warcs}
        work = itertools.chain(
            ((start_files, load, chunk) for chunk in chunks(files, request.batch_size)),
            ((start_links, load, chunk) for chunk in chunks(links, request.batch_size)),
            (
                (start_warc, load_warc, chunk)
                for warc in warcs
                for chunk in warc_chunks(warc, request.options.max_bytes, request.batch_size, warc_counts[warc.path])
            ),
        )
        load_in_order(
            work, lambda item: item[0](item[2]), lambda item, batch: item[1](item[2], batch), steps.max_pending
        )
        for path, counts in warc_counts.items():
            steps.run.logger.info("%s", describe_counts(path, counts))
        changed = run.counts.loaded + run.counts.updated > 0
        run.update_derived(request.dedup, request.monitors, pool, changed)
