"""The ingest flow: Prefect's adapter for the pipeline core (pipeline/ingest.py). Each task is a step of the
core with its name and retries; the flow passes them, Prefect's `submit` and the runner's in-flight bound to
`ingest_documents`, and publishes the counts and the data checks as artifacts."""

from __future__ import annotations

import uuid
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from config.settings import DEFAULT_BATCH_SIZE, DEFAULT_DB
from extractors import ExtractOptions
from extractors.document import DEFAULT_MAX_BYTES
from extractors.language import MIN_PROBABILITY
from extractors.listings import Link
from fetching.fetch import FetchPolicy, FetchResult
from fetching.files import FoundFile, discover_documents
from flows.events import announced
from flows.runners import SettingsTaskRunner, dask_threads
from pipeline import batches, runs, web
from pipeline.batches import ExtractedBatch, WarehouseState
from pipeline.ingest import IngestSteps, ingest_documents, ingest_request
from pipeline.pool import ExtractionPool
from similarity.monitors import DEFAULT_MONITORS
from warehouse.checks import CheckFailure, DataChecksFailed
from warehouse.db import is_write_conflict
from warehouse.dedup import DedupSettings
from warehouse.load import LoadCounts

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


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def prepare_warehouse(db: str, run_id: str, parameters: dict, flow_name: str = "ingest") -> WarehouseState:
    return runs.prepare_warehouse(db, run_id, parameters, flow_name)


@task(cache_policy=NO_CACHE)
def find_files(paths: list[str], follow_symlinks: bool = False) -> tuple[list[FoundFile], list]:
    return discover_documents(paths, follow_symlinks)


@task(cache_policy=NO_CACHE)
def extract_files(
    paths: list[FoundFile], state: WarehouseState, options: ExtractOptions, pool: ExtractionPool
) -> ExtractedBatch:
    return batches.extract_files(paths, state, options, pool)


@task(cache_policy=NO_CACHE)
def discover_web(
    urls: list[str], url_lists: list[str], state: WarehouseState, policy: FetchPolicy
) -> tuple[list[Link], dict, list]:
    return web.discover_web(urls, url_lists, state, policy)


@task(cache_policy=NO_CACHE)
def fetch_pages(
    links: list[Link], prefetched: dict[str, FetchResult], state: WarehouseState, policy: FetchPolicy
) -> list[FetchResult]:
    return web.fetch_pages(links, prefetched, state, policy)


@task(cache_policy=NO_CACHE)
def extract_fetched(
    links: list[Link],
    results: list[FetchResult],
    state: WarehouseState,
    source_name: str | None,
    options: ExtractOptions,
    pool: ExtractionPool | None = None,
) -> ExtractedBatch:
    return batches.extract_fetched(links, results, state, source_name, options, pool)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def load_extracted(db: str, batch: ExtractedBatch, run_id: str) -> LoadCounts:
    return runs.load_extracted(db, batch, run_id)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def deduplicate(db: str, run_id: str, settings: DedupSettings, pool: ExtractionPool, changed: bool = True) -> int:
    return runs.deduplicate(db, run_id, settings, pool, changed)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def find_near_duplicates(db: str, settings: DedupSettings) -> None:
    runs.find_near_duplicates(db, settings)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def match_monitors(db: str, run_id: str, monitors: dict[str, str], pool: ExtractionPool) -> None:
    runs.match_monitors(db, run_id, monitors, pool)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def refresh_search(db: str) -> None:
    runs.refresh_search(db)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def check_warehouse(db: str, run_id: str) -> list[CheckFailure]:
    return runs.check_warehouse(db, run_id)


@task(cache_policy=NO_CACHE, **WRITE_RETRIES)
def close_run(db: str, run_id: str, status: str, seen: int, counts: LoadCounts) -> None:
    runs.close_run(db, run_id, status, seen, counts)


def publish_checks(failures: list[CheckFailure], db: str) -> None:
    """The data checks' result as the run's `data-checks` markdown artifact: each failing check with its row
    count and first rows, so a broken invariant shows in the UI next to the failed run."""
    if not failures:
        markdown = f"All data checks passed on `{db}`."
    else:
        parts = [f"# {len(failures)} data check(s) failed on `{db}`\n\nThe run's data is loaded. Run `mediamon check`."]
        for failure in failures:
            header = "| " + " | ".join(failure.columns) + " |\n|" + " --- |" * len(failure.columns)
            rows = "\n".join("| " + " | ".join(_cell(v) for v in row) + " |" for row in failure.sample)
            parts.append(f"## {failure.name}: {failure.rows} row(s)\n\n{failure.description}\n\n{header}\n{rows}")
        markdown = "\n\n".join(parts)
    create_markdown_artifact(key="data-checks", markdown=markdown, description=f"Data checks of {db}")


def _cell(value: object) -> str:
    return str(value)[:80].replace("|", "\\|").replace("\n", " ")


def _quoted(step):
    """Call a task with the warehouse state and batches wrapped in quote(): Prefect then does not walk them
    (a state's dicts hold every loaded document) looking for futures."""

    def call(*args):
        return step(*[quote(a) if isinstance(a, WarehouseState | ExtractedBatch) else a for a in args])

    return call


def submit_task(step, *args):
    """Prefect's `submit`; on the default runner the state is quote()d (prefect-dask does not unwrap it)."""
    if dask_threads() is None:
        args = tuple(quote(a) if isinstance(a, WarehouseState) else a for a in args)
    return step.submit(*args)


def run_steps(db: str) -> runs.RunSteps:
    """The warehouse steps as this module's tasks, logging to the run and publishing the checks."""
    return runs.RunSteps(
        prepare=prepare_warehouse,
        load=_quoted(load_extracted),
        deduplicate=deduplicate,
        find_near_duplicates=find_near_duplicates,
        refresh_search=refresh_search,
        match_monitors=match_monitors,
        check=check_warehouse,
        close=close_run,
        report_checks=lambda failures: publish_checks(failures, db),
        logger=get_run_logger(),
    )


def in_flight_and_workers(extract_workers: int | None) -> tuple[int, int | None]:
    """On the default runner two batches are extracted (in threads feeding the process pool) while the one before
    loads, so the pool still has a batch to work on while this process loads and finds near-duplicates; on Dask,
    batches are extracted on the workers, two per worker thread in flight, loads staying here."""
    threads = dask_threads()
    return (3, extract_workers) if threads is None else (2 * threads + 1, 1)


@flow(name="ingest", task_runner=SettingsTaskRunner())
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
    run_id = flow_run.get_id() or str(uuid.uuid4())
    # At its end the run announces its new monitor matches and its outcome (flows/events.py), failed or not.
    with announced(db, run_id, "ingest"):
        max_pending, workers = in_flight_and_workers(extract_workers)
        request = ingest_request(
            db,
            run_id,
            paths=paths,
            urls=urls,
            url_lists=url_lists,
            source_name=source_name,
            batch_size=batch_size,
            options=ExtractOptions(max_bytes=max_document_bytes, language_min_probability=language_min_probability),
            policy=fetch_policy,
            dedup=dedup,
            monitors=monitors,
            follow_symlinks=follow_symlinks,
            extract_workers=extract_workers,
        )
        steps = IngestSteps(
            run=run_steps(db),
            find_files=find_files,
            discover_web=_quoted(discover_web),
            fetch_pages=fetch_pages,
            extract_files=extract_files,
            extract_fetched=extract_fetched,
            submit=submit_task,
            max_pending=max_pending,
            extract_workers=workers,
        )
        try:
            summary = ingest_documents(request, steps)
        except DataChecksFailed as failed:
            publish_counts(failed.summary)  # the data is loaded: its counts show next to the failed checks
            raise
        publish_counts(summary)
        logger.info("ingest finished: %s", summary)
        return summary


def publish_counts(summary: dict) -> None:
    create_table_artifact(
        key="ingest-counts",
        table=[{"count": k, "value": v} for k, v in summary.items() if k != "db"],
        description=f"Ingest into {summary['db']}",
    )
