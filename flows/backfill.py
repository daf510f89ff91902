"""The backfill flow: Prefect's adapter for the backfill run (pipeline/redo.py), which redoes a date range day
by day (refetch, re-extract stored responses, or re-dedup), or brings in the range's articles from archives of
the past (`history`: sitemaps, the Wayback Machine, CC-NEWS; pipeline/history.py).

Each day is its own task runs (read, redo on the task runner, load), so a failed day shows in the UI; a
completed backfill run again changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import Field

from config.settings import DEFAULT_DB, load_settings
from extractors import ExtractOptions
from extractors.listings import Link
from fetching.fetch import FetchPolicy, FetchResult
from flows.events import announced
from flows.ingest import DEFAULT_DEDUP, DEFAULT_FETCH_POLICY, WRITE_RETRIES, run_steps, submit_task
from flows.runners import SettingsTaskRunner, dask_threads
from pipeline import history, redo
from pipeline.batches import ExtractedBatch, WarehouseState
from pipeline.history import ArchiveEndpoints, HistoryDay, HistoryTarget
from pipeline.redo import BackfillSteps, Mode, backfill_range, backfill_request
from similarity.monitors import DEFAULT_MONITORS
from warehouse.dedup import DedupSettings

DEFAULT_MAX_DAYS = 92
ArchiveName = Literal["sitemaps", "wayback", "ccnews"]


@task(cache_policy=NO_CACHE, task_run_name="read {day}", **WRITE_RETRIES)
def day_responses(db: str, day: date, mode: Mode, sources: list[str]) -> list[tuple[Link, FetchResult]]:
    return redo.day_responses(db, day, mode, sources, get_run_logger())


@task(cache_policy=NO_CACHE, task_run_name="{mode} {day}")
def redo_day(
    day: date, mode: Mode, responses: list[tuple[Link, FetchResult]], policy: FetchPolicy, options: ExtractOptions
) -> ExtractedBatch:
    return redo.redo_day(day, mode, responses, policy, options, get_run_logger())


@task(cache_policy=NO_CACHE, task_run_name="history {day}")
def history_day(
    day: date,
    targets: list[HistoryTarget],
    options: ExtractOptions,
    endpoints: ArchiveEndpoints,
    monitors: dict[str, str],
    state: WarehouseState,
    workers: int | None = None,
) -> HistoryDay:
    return history.history_day(day, targets, options, endpoints, monitors, state, workers, logger=get_run_logger())


@flow(name="backfill", task_runner=SettingsTaskRunner())
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
    archives: list[ArchiveName] = (),
    force: bool = False,
) -> dict:
    """Redo a date range day by day, or bring in its articles from archives (history); returns the counts.

    (Descriptions live here, not in `Field`s: Prefect's run form takes them from this section.)

    Args:
        start: First day to redo (publication date, else listing date, else fetch date)
        end: Last day to redo, included
        mode: reextract: extract the stored responses again (after an extractor upgrade); refetch: fetch the
            day's URLs again; rededup: recompute duplicates and stories; history: find the articles published
            each day in the archives and load them as an ingest does
        sources: Source names from the sources file; empty means all
        db: Warehouse: a DuckDB file, or ducklake:sqlite:CATALOG
        sources_file: The sources file naming the sources
        max_days: Longest range accepted in one run
        fetch_policy: Politeness, timeouts and limits, used by refetch
        dedup: Near-duplicate and story thresholds
        monitors: Topic monitors, name -> boolean keyword query
        archives: For history: sitemaps (a sitemap source's index), wayback (the Wayback Machine's captures of
            a feed or page), ccnews (Common Crawl's news WARCs); empty means sitemaps for sitemap sources and
            wayback for the others
        force: For history: look up again the days already finished for a source and archive
    """
    run_id = flow_run.get_id() or str(uuid.uuid4())
    # At its end the run announces its new monitor matches and its outcome (flows/events.py), failed or not.
    with announced(db, run_id, "backfill", mode):
        request = backfill_request(
            db,
            run_id,
            start=start,
            end=end,
            mode=mode,
            sources=list(sources),
            sources_file=Path(sources_file),
            max_days=max_days,
            policy=fetch_policy,
            dedup=dedup,
            monitors=monitors,
            archives=list(archives),
            force=force,
            settings=load_settings(),
        )
        # Days are redone on the task runner (on Dask, two per worker thread at a time) and loaded here in order.
        threads = dask_threads()
        steps = BackfillSteps(
            run=run_steps(db),
            read_day=day_responses,
            redo_day=redo_day,
            history_day=history_day,
            submit=submit_task,
            max_pending=1 if threads is None else 2 * threads + 1,
            extract_workers=None if threads is None else 1,
        )
        summary = backfill_range(request, steps)
        get_run_logger().info("backfill finished: %s", summary)
        return summary
