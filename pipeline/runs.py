"""A run of the pipeline: its `runs` row opened and closed, batches loaded in order with bounded in-flight work,
the derived tables brought up to date, and the data checks at the end.

Each warehouse step here is a plain function of the warehouse location (one writer connection, one
transaction); the flows wrap them in tasks for retries and names, tests call them directly.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from extractors.display import printable
from pipeline.batches import ExtractedBatch, WarehouseState
from pipeline.pool import ExtractionPool
from warehouse.checks import CheckFailure, DataChecksFailed, failing_checks, record_checks
from warehouse.db import open_writer
from warehouse.dedup import DedupSettings, dedup_is_current, update_duplicates, update_near_duplicates
from warehouse.load import (
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

T = TypeVar("T")
log = logging.getLogger("mediamon.pipeline")


class Pending(Protocol):
    def result(self) -> Any: ...


# submit(step, *args) starts a step and returns what to wait on: Prefect's `task.submit`, an executor's `submit`,
# or `call_now` (the step runs at once).
Submit = Callable[..., Pending]


@dataclass(frozen=True)
class Done:
    """A step already run: its value, with the `result()` of a future."""

    value: Any

    def result(self) -> Any:
        return self.value


def call_now(step: Callable, *args: Any) -> Done:
    return Done(step(*args))


def load_in_order(
    items: Iterable[T], start: Callable[[T], Pending], load: Callable[[T, Any], None], max_pending: int
) -> None:
    """Start a step per item and load the results in the items' order, with at most `max_pending` started and
    not yet loaded: the oldest is loaded (while the newer ones run) before the next starts."""
    if max_pending < 1:
        raise ValueError(f"max_pending must be at least 1, got {max_pending}")
    pending: deque[tuple[T, Pending]] = deque()
    for item in items:
        while len(pending) >= max_pending:
            done, step = pending.popleft()
            load(done, step.result())
        pending.append((item, start(item)))
    while pending:
        done, step = pending.popleft()
        load(done, step.result())


def chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[begin : begin + size] for begin in range(0, len(items), size)]


# The warehouse steps: plain functions, each one writer connection.


def prepare_warehouse(db: str, run_id: str, parameters: dict, flow_name: str = "ingest") -> WarehouseState:
    """Migrate, open the run's row, and read what is already loaded."""
    with open_writer(db) as conn:
        start_run(conn, run_id, flow_name, parameters)
        return WarehouseState(known_documents(conn), stored_fetches(conn))


def load_extracted(db: str, batch: ExtractedBatch, run_id: str) -> LoadCounts:
    """Load a batch in one transaction, on one DuckDB thread: loads run while the extraction workers keep the
    cores busy, where DuckDB's parallel execution only adds CPU (a third more per article, measured)."""
    with open_writer(db) as conn:
        conn.execute("SET threads = 1")
        return load_batch(conn, batch.articles, batch.rejects, run_id, batch.unchanged, batch.fetches)


# During a run's loads, near-duplicates (signatures, pairs, canonical copies) are found each time this many articles
# were loaded or changed since the last pass (one chunk of warehouse.dedup), so that `deduplicate` after the last load
# has only the rest and the stories to do: a pass runs here while the extraction workers go on with the batches
# already started, where at the end the workers would wait for it (bench/pipeline/README.md).
NEAR_DUPLICATES_EVERY = 2000


def find_near_duplicates(db: str, settings: DedupSettings) -> None:
    """Levels 1 and 2 of dedup for the articles loaded so far (see NEAR_DUPLICATES_EVERY), in this process and on
    one DuckDB thread, as loads: the extraction workers keep the cores busy meanwhile. It leaves `dedup_pending`
    set; the run's `deduplicate` finishes the update, and equals one update over all the run's articles."""
    with open_writer(db) as conn:
        conn.execute("SET threads = 1")
        update_near_duplicates(conn, settings)


def deduplicate(db: str, run_id: str, settings: DedupSettings, pool: ExtractionPool, changed: bool = True) -> int:
    """Update duplicates and stories for the articles changed since the last update (the change record), per-article
    work on the pool; returns this run's copies. A run that `changed` no article skips the update when dedup is
    current (nothing recorded, no update cut short)."""
    with open_writer(db) as conn:
        if changed or not dedup_is_current(conn, settings):
            update_duplicates(conn, settings, pool.map)
        return count_run_duplicates(conn, run_id)


def match_monitors(db: str, run_id: str, monitors: dict[str, str], pool: ExtractionPool) -> None:
    with open_writer(db) as conn:
        update_monitor_matches(conn, monitors, run_id, pool.map)


def refresh_search(db: str) -> None:
    """Index the articles the search index misses (loads index their own; this catches up older warehouses)."""
    with open_writer(db) as conn:
        if search_index_state(conn) is not None:
            refresh_search_index(conn)


def check_warehouse(db: str, run_id: str) -> list[CheckFailure]:
    """Run the data checks over the whole warehouse and note the result on the run's row."""
    with open_writer(db) as conn:
        failures = failing_checks(conn)
        record_checks(conn, run_id, failures)
        return failures


def close_run(db: str, run_id: str, status: str, seen: int, counts: LoadCounts) -> None:
    with open_writer(db) as conn:
        finish_run(conn, run_id, status, seen, counts)


def log_rejects(rejects: list[RejectedDocument], logger: logging.Logger | logging.LoggerAdapter = log) -> None:
    """One line per batch with its rejects counted by stage and reason, never a line per document: a feed of
    100,000 refused links wrote 27 MB of warnings, and the run spent 55 s after its end sending them to the
    server. The rows themselves are in the `rejects` table."""
    if rejects:
        by_reason = Counter(f"{r.stage}/{r.reject.reason}" for r in rejects)
        listed = ", ".join(f"{reason} {n}" for reason, n in by_reason.most_common())
        example = rejects[0]
        logger.warning(
            "%d rejected (%s); e.g. %s: %s; see the rejects table",
            len(rejects),
            listed,
            printable(example.source_uri[:200]),
            example.reject.reason,
        )


@dataclass
class RunSteps:
    """The warehouse steps a run calls, plain functions by default; a flow passes its tasks (same signatures)."""

    prepare: Callable[..., WarehouseState] = prepare_warehouse
    load: Callable[[str, ExtractedBatch, str], LoadCounts] = load_extracted
    deduplicate: Callable[..., int] = deduplicate
    find_near_duplicates: Callable[[str, DedupSettings], None] = find_near_duplicates
    refresh_search: Callable[[str], None] = refresh_search
    match_monitors: Callable[..., None] = match_monitors
    check: Callable[[str, str], list[CheckFailure]] = check_warehouse
    close: Callable[[str, str, str, int, LoadCounts], None] = close_run
    # Called with the checks' failures ([] when all passed) before the run fails on them: a flow publishes them.
    report_checks: Callable[[list[CheckFailure]], None] = lambda failures: None
    logger: logging.Logger | logging.LoggerAdapter = log


@dataclass
class Run:
    """An open run: what it has seen and loaded so far."""

    db: str
    run_id: str
    steps: RunSteps
    state: WarehouseState
    seen: int = 0
    counts: LoadCounts = field(default_factory=LoadCounts)
    failures: list[CheckFailure] = field(default_factory=list)
    not_deduplicated: int = 0  # articles loaded or changed since the last near-duplicate pass

    def load(self, batch: ExtractedBatch) -> LoadCounts:
        """Load a batch, unless it only counts unchanged documents: those cost no load and leave the warehouse
        closed (a re-run over an unchanged corpus is all such batches). The batch is released after."""
        log_rejects(batch.rejects, self.steps.logger)
        try:
            if batch.changes:
                loaded = self.steps.load(self.db, batch, self.run_id)
            else:
                loaded = LoadCounts(unchanged=batch.unchanged)
        finally:
            batch.release()
        self.counts += loaded
        self.not_deduplicated += loaded.loaded + loaded.updated
        return loaded

    def catch_up_duplicates(self, dedup: DedupSettings, every: int = NEAR_DUPLICATES_EVERY) -> None:
        """Between loads: a near-duplicate pass once `every` articles were loaded or changed since the last."""
        if self.not_deduplicated >= every:
            self.steps.find_near_duplicates(self.db, dedup)
            self.not_deduplicated = 0

    def update_derived(
        self, dedup: DedupSettings, monitors: dict[str, str], pool: ExtractionPool, changed: bool = True
    ) -> None:
        """Duplicates, the search index's catch-up, then monitor matches; counts this run's copies."""
        steps = self.steps
        self.counts.duplicates = steps.deduplicate(self.db, self.run_id, dedup, pool, changed)
        steps.refresh_search(self.db)
        steps.match_monitors(self.db, self.run_id, monitors, pool)


@contextmanager
def open_run(db: str, run_id: str, parameters: dict, flow_name: str, steps: RunSteps | None = None) -> Iterator[Run]:
    """Open the run's row, yield the run, then check the data and close the row: `failed` (and the exception
    raised again) when the block or the checks raise, else `completed`. Checks that find broken invariants
    close the run as `failed` too, after its data is committed, and raise DataChecksFailed."""
    steps = steps or RunSteps()
    run = Run(db, run_id, steps, steps.prepare(db, run_id, parameters, flow_name))
    try:
        yield run
        run.failures = steps.check(db, run_id)
    except BaseException:
        steps.close(db, run_id, "failed", run.seen, run.counts)
        raise
    steps.close(db, run_id, "failed" if run.failures else "completed", run.seen, run.counts)
    steps.report_checks(run.failures)
    if run.failures:
        raise DataChecksFailed(run.failures)
