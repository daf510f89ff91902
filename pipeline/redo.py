"""A backfill run without Prefect: redo a date range day by day (refetch, re-extract stored responses, or
re-dedup), each day read, redone on the injected `submit`, and loaded in order; then the derived tables. The
`history` mode instead looks the days up in archives of the past (pipeline/history.py), skipping the (source,
day, archive) already finished, and records each one it finishes once its day is loaded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from config.settings import Settings
from extractors import ExtractOptions
from extractors.listings import Link
from fetching.fetch import FetchPolicy, FetchResult
from pipeline.backfill import BackfillError, backfill_days
from pipeline.batches import ExtractedBatch, WarehouseState, extract_fetched, stored_state
from pipeline.history import ArchiveEndpoints, HistoryDay, HistoryTarget, history_day, history_targets
from pipeline.pool import MIN_FRESH_MAP_JOBS, ExtractionPool, default_workers
from pipeline.runs import Done, Pending, Run, RunSteps, Submit, call_now, load_in_order, log, open_run
from pipeline.sources import Source, load_sources
from pipeline.web import fetch_pages
from warehouse.backfill import finished_history, forget_signatures, record_history, stored_responses
from warehouse.db import open_writer
from warehouse.dedup import DedupSettings

Mode = Literal["refetch", "reextract", "rededup", "history"]
Logger = logging.Logger | logging.LoggerAdapter


def day_responses(
    db: str, day: date, mode: Mode, sources: list[str], logger: Logger = log
) -> list[tuple[Link, FetchResult]]:
    """The day's stored responses; for rededup, the day's signatures are dropped instead (none returned)."""
    with open_writer(db) as conn:
        if mode == "rededup":
            logger.info("%s: %d articles to deduplicate again", day, forget_signatures(conn, day, sources))
            return []
        return stored_responses(conn, day, sources)


def redo_day(
    day: date,
    mode: Mode,
    responses: list[tuple[Link, FetchResult]],
    policy: FetchPolicy,
    options: ExtractOptions,
    logger: Logger = log,
) -> ExtractedBatch:
    """Extract the day's stored responses again, or fetch its URLs again and extract those."""
    links = [link for link, _ in responses]
    results = fetch_pages(links, {}, WarehouseState(), policy) if mode == "refetch" else [r for _, r in responses]
    batch = extract_fetched(links, results, stored_state(responses), None, options)
    logger.info("%s: %d responses, %d articles, %d rejects", day, len(links), len(batch.articles), len(batch.rejects))
    return batch


def finished_days(db: str, days: list[date]) -> set[tuple[str, date, str]]:
    """The (source, day, archive) a history backfill already finished in the range."""
    with open_writer(db) as conn:
        return finished_history(conn, days[0], days[-1]) if days else set()


def record_finished(db: str, day: date, finished: list[tuple[str, str, int]], run_id: str) -> None:
    with open_writer(db) as conn:
        record_history(conn, day, finished, run_id)


@dataclass(frozen=True)
class BackfillRequest:
    db: str
    run_id: str
    days: list[date]
    mode: Mode = "reextract"
    sources: list[str] = field(default_factory=list)
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    monitors: dict[str, str] = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    # history: the (source, archive) pairs to look up, where the archives are, and whether to redo finished days
    targets: list[HistoryTarget] = field(default_factory=list)
    endpoints: ArchiveEndpoints = field(default_factory=ArchiveEndpoints)
    force: bool = False


def plan_backfill(
    start: date,
    end: date,
    mode: Mode,
    sources: list[str],
    sources_file: Path,
    max_days: int,
    archives: list[str] = (),
) -> tuple[list[date], dict[str, Source]]:
    """The days to redo and the sources file's sources, or BackfillError saying what is wrong with the request:
    archives with another mode than history, a reversed or too long range, an unknown source. The sources file
    is read only when sources are named or for history (the other modes redo what the warehouse holds)."""
    if archives and mode != "history":
        raise BackfillError(f"archives are for the history mode, not {mode}")
    known = load_sources(sources_file) if sources or mode == "history" else {}
    return backfill_days(start, end, list(sources), set(known), max_days), known


def backfill_request(
    db: str,
    run_id: str,
    *,
    start: date,
    end: date,
    mode: Mode,
    sources: list[str],
    sources_file: Path,
    max_days: int,
    policy: FetchPolicy,
    dedup: DedupSettings,
    monitors: dict[str, str],
    archives: list[str],
    force: bool,
    settings: Settings,
) -> BackfillRequest:
    """The request for a backfill run's parameters (the backfill flow's), checked by plan_backfill; for history,
    the (source, archive) pairs to look up and where the archives are (`settings`). The run's row records the
    parameters, history's own only for history."""
    days, known = plan_backfill(start, end, mode, sources, sources_file, max_days, archives)
    history = mode == "history"
    return BackfillRequest(
        db=db,
        run_id=run_id,
        days=days,
        mode=mode,
        sources=list(sources),
        policy=policy,
        dedup=dedup,
        monitors=monitors,
        parameters={
            "start": str(start),
            "end": str(end),
            "mode": mode,
            "sources": list(sources),
            "db": db,
            **({"archives": list(archives), "force": force} if history else {}),
        },
        targets=history_targets(known, list(sources), list(archives), policy) if history else [],
        endpoints=ArchiveEndpoints(settings.wayback_cdx_url, settings.wayback_playback_url, settings.ccnews_base_url),
        force=force,
    )


@dataclass
class BackfillSteps:
    """The steps of a backfill run; `submit(step, *args)` starts a day's redo, `max_pending` bounds the days
    started and not yet loaded."""

    run: RunSteps = field(default_factory=RunSteps)
    read_day: Callable[..., list[tuple[Link, FetchResult]]] = day_responses
    redo_day: Callable[..., ExtractedBatch] = redo_day
    history_day: Callable[..., HistoryDay] = history_day
    finished_days: Callable[[str, list[date]], set[tuple[str, date, str]]] = finished_days
    record_finished: Callable[..., None] = record_finished
    submit: Submit = call_now
    max_pending: int = 1
    extract_workers: int | None = None


def backfill_range(request: BackfillRequest, steps: BackfillSteps | None = None) -> dict:
    """Run a backfill; returns its summary (run id, warehouse, days, mode and the load counts)."""
    steps = steps or BackfillSteps()
    options = ExtractOptions(max_bytes=request.policy.max_bytes)
    with open_run(request.db, request.run_id, request.parameters, "backfill", steps.run) as run:
        run.seen = len(request.days)

        if request.mode == "history":
            _history(run, request, steps, options)
        else:

            def start(day: date) -> Pending:
                responses = steps.read_day(request.db, day, request.mode, list(request.sources))
                if not responses:
                    return Done(ExtractedBatch())
                return steps.submit(steps.redo_day, day, request.mode, responses, request.policy, options)

            load_in_order(request.days, start, lambda day, batch: run.load(batch), steps.max_pending)
        # Its processes start on demand, and only for long maps: a backfill's pool is fresh here, and starting it
        # costs more than it saves on the articles of a few days.
        derived_pool = ExtractionPool(steps.extract_workers or default_workers(), min_jobs=MIN_FRESH_MAP_JOBS)
        with derived_pool as pool:
            # A history day already finished loads nothing: a re-run of the range leaves dedup as it is.
            changed = request.mode != "history" or run.counts.loaded + run.counts.updated > 0
            run.update_derived(request.dedup, request.monitors, pool, changed)
    summary = {"run_id": request.run_id, "db": request.db, "days": len(request.days), "mode": request.mode}
    return {**summary, **run.counts.as_dict()}


def _history(run: Run, request: BackfillRequest, steps: BackfillSteps, options: ExtractOptions) -> None:
    """Each day's unfinished (source, archive) looked up on `submit`; once the day is loaded, what it finished
    is recorded, so a run killed later starts again after it."""
    finished = set() if request.force else steps.finished_days(request.db, request.days)

    def start(day: date) -> Pending:
        todo = [t for t in request.targets if (t.source, day, t.archive) not in finished]
        if not todo:
            return Done(HistoryDay())
        monitors = dict(request.monitors)
        return steps.submit(
            steps.history_day, day, todo, options, request.endpoints, monitors, run.state, steps.extract_workers
        )

    def load(day: date, done: HistoryDay) -> None:
        run.load(done.batch)
        steps.record_finished(request.db, day, done.finished, request.run_id)

    load_in_order(request.days, start, load, steps.max_pending)
