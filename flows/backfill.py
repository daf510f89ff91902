"""The backfill flow: redo a date range day by day (refetch, re-extract stored responses, or re-dedup).

Each day is its own task runs (read, redo on the task runner, load), so a failed day shows in the UI; a
completed backfill run again changes nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import deque
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from pydantic import Field

from config.settings import DEFAULT_DB
from extractors import ExtractOptions
from extractors.listings import Link
from extractors.records import sha256_hex
from fetching.fetch import FetchPolicy, FetchResult
from flows.ingest import (
    DEFAULT_DEDUP,
    DEFAULT_FETCH_POLICY,
    WRITE_RETRIES,
    ExtractedBatch,
    WarehouseState,
    close_run,
    extract_fetched,
    fetch_pages,
    load_changes,
    prepare_warehouse,
    update_derived,
)
from flows.runners import configured_task_runner, dask_threads
from pipeline.backfill import backfill_days
from pipeline.pool import ExtractionPool, default_workers
from pipeline.sources import load_sources
from similarity.monitors import DEFAULT_MONITORS
from warehouse.backfill import forget_signatures, stored_responses
from warehouse.db import open_writer
from warehouse.dedup import DedupSettings
from warehouse.load import LoadCounts

Mode = Literal["refetch", "reextract", "rededup"]
DEFAULT_MAX_DAYS = 92


@task(cache_policy=NO_CACHE, task_run_name="read {day}", **WRITE_RETRIES)
def day_responses(db: str, day: date, mode: Mode, sources: list[str]) -> list[tuple[Link, FetchResult]]:
    """The day's stored responses; for rededup, the day's signatures are dropped instead (none returned)."""
    with open_writer(db) as conn:
        if mode == "rededup":
            get_run_logger().info("%s: %d articles to deduplicate again", day, forget_signatures(conn, day, sources))
            return []
        return stored_responses(conn, day, sources)


@task(cache_policy=NO_CACHE, task_run_name="{mode} {day}")
def redo_day(
    day: date, mode: Mode, responses: list[tuple[Link, FetchResult]], policy: FetchPolicy, options: ExtractOptions
) -> ExtractedBatch:
    """Extract the day's stored responses again, or fetch its URLs again and extract those."""
    links = [link for link, _ in responses]
    results = fetch_pages.fn(links, {}, WarehouseState(), policy) if mode == "refetch" else [r for _, r in responses]
    # No known documents: every body is extracted again (output equal to the stored row loads as unchanged);
    # the stored fetches, so an unchanged response is not written again.
    state = WarehouseState(fetches={link.url: (r.etag, r.last_modified, sha256_hex(r.body)) for link, r in responses})
    batch = extract_fetched.fn(links, results, state, None, options)
    get_run_logger().info(
        "%s: %d responses, %d articles, %d rejects", day, len(links), len(batch.articles), len(batch.rejects)
    )
    return batch


@flow(name="backfill", task_runner=configured_task_runner())
def backfill(
    start: date,
    end: date,
    mode: Mode = "reextract",
    sources: list[str] = (),
    db: str = str(DEFAULT_DB),
    sources_file: str = "sources.toml",
    max_days: Annotated[int, Field(ge=1)] = DEFAULT_MAX_DAYS,
    fetch_policy: FetchPolicy = DEFAULT_FETCH_POLICY,
    dedup: DedupSettings = DEFAULT_DEDUP,
    monitors: dict[str, str] = DEFAULT_MONITORS,
) -> dict:
    """Redo a date range day by day; returns the counts.

    (Descriptions live here, not in `Field`s: Prefect's run form takes them from this section.)

    Args:
        start: First day to redo (publication date, else listing date, else fetch date)
        end: Last day to redo, included
        mode: reextract: extract the stored responses again (after an extractor upgrade); refetch: fetch the
            day's URLs again; rededup: recompute duplicates and stories
        sources: Source names from the sources file; empty means all
        db: Warehouse: a DuckDB file, or ducklake:sqlite:CATALOG
        sources_file: The sources file naming the sources
        max_days: Longest range accepted in one run
        fetch_policy: Politeness, timeouts and limits, used by refetch
        dedup: Near-duplicate and story thresholds
        monitors: Topic monitors, name -> boolean keyword query
    """
    known = set(load_sources(Path(sources_file))) if sources else set()
    days = backfill_days(start, end, list(sources), known, max_days)
    run_id = flow_run.get_id() or str(uuid.uuid4())
    parameters = {"start": str(start), "end": str(end), "mode": mode, "sources": list(sources), "db": db}
    prepare_warehouse(db, run_id, parameters, flow_name="backfill")
    options = ExtractOptions(max_bytes=fetch_policy.max_bytes)
    counts = LoadCounts()
    try:
        # Days are redone on the task runner (on Dask, two per worker thread at a time) and loaded here in order.
        threads = dask_threads()
        in_flight = 2 * threads if threads else 0
        pending: deque[PrefectFuture] = deque()
        for day in days:
            responses = day_responses(db, day, mode, list(sources))
            if responses:
                pending.append(redo_day.submit(day, mode, responses, fetch_policy, options))
            while len(pending) > in_flight:
                counts += load_changes(db, pending.popleft().result(), run_id)
        while pending:
            counts += load_changes(db, pending.popleft().result(), run_id)
        with ExtractionPool(1 if threads is not None else default_workers()) as pool:  # its processes start on demand
            duplicates = update_derived(db, run_id, dedup, monitors, pool)
        counts = dataclasses.replace(counts, duplicates=duplicates)
    except BaseException:
        close_run(db, run_id, "failed", len(days), counts)
        raise
    close_run(db, run_id, "completed", len(days), counts)
    summary = {"run_id": run_id, "db": db, "days": len(days), "mode": mode, **counts.as_dict()}
    get_run_logger().info("backfill finished: %s", summary)
    return summary
