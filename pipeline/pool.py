"""Extraction on several processes: one pool per flow run, reused by every batch (see bench/pipeline)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors import Article, ExtractOptions, Reject

# The extractors (trafilatura: about half a second) are imported where they run, so that importing this module to
# start the workers early costs the caller nothing.

CHUNK_DOCUMENTS = 8  # documents per task sent to a worker: small enough to balance, big enough to amortize pickling
MIN_POOL_JOBS = 4 * CHUNK_DOCUMENTS  # smaller batches are extracted in the calling process
# A pool started only for the derived stages (a backfill's dedup, stories and monitors) maps at least this many
# items on its processes: for 1,054 articles two fresh workers took 3.0 CPU-seconds (imports, pickling) to take
# 0.74 CPU-seconds of work off this process (bench/archive); a dedup chunk is 2,000 articles.
MIN_FRESH_MAP_JOBS = 2000

# Worker processes started ahead of a run (`start_workers_early`), waiting for the run's pool to take them over.
_early: tuple[int, ProcessPoolExecutor] | None = None


@dataclass(frozen=True)
class ExtractJob:
    """What `extract_document` needs for one document."""

    raw: bytes
    source_uri: str
    kind: str | None
    url: str | None = None
    declared_charset: str | None = None


def extract_job(job: ExtractJob, options: ExtractOptions) -> Article | Reject:
    """`extract_document`, with an unexpected exception made a reject: one document never sinks its batch."""
    from extractors import Reject, extract_document

    try:
        return extract_document(
            job.raw, job.source_uri, job.kind, url=job.url, declared_charset=job.declared_charset, options=options
        )
    except Exception as exc:
        return Reject("extract_error", f"{type(exc).__name__}: {exc}"[:300])


def _extract_chunk(jobs: list[ExtractJob], options: ExtractOptions) -> list[Article | Reject]:
    return [extract_job(job, options) for job in jobs]


def _ready() -> None:
    """A worker's first task: import the extractors, so that the first batch finds them loaded."""
    import extractors  # noqa: F401


def _spawn_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def start_workers_early(workers: int) -> None:
    """Start `workers` extraction processes now, so that their start (about half a second of imports each) runs
    while the caller imports Prefect and opens its run; the next `ExtractionPool` of that size takes them over.
    The command line calls this when its targets hold enough files to use the pool."""
    global _early
    if workers < 2 or _early is not None:
        return
    executor = _spawn_pool(workers)
    for _ in range(workers):  # one task per idle slot: the executor spawns a process for each
        executor.submit(_ready)
    _early = (workers, executor)


def stop_early_workers() -> None:
    """Stop workers started early that no pool took over (the run needed none, or ran elsewhere)."""
    global _early
    if _early is not None:
        _early[1].shutdown(wait=False, cancel_futures=True)
        _early = None


def _take_early_workers(workers: int) -> ProcessPoolExecutor | None:
    global _early
    if _early is None or _early[0] != workers:
        return None
    executor, _early = _early[1], None
    return executor


def default_workers() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ExtractionPool:
    """`workers` extraction processes, started on the first batch big enough to use them.

    With one worker, or a batch smaller than `min_jobs`, documents are extracted in this process: a run of a
    few documents never pays the processes' start-up (about a second of imports each). Workers are spawned,
    not forked, because the flow's process runs Prefect's threads.
    """

    def __init__(self, workers: int, min_jobs: int = MIN_POOL_JOBS):
        if workers < 1:
            raise ValueError(f"extract_workers must be at least 1, got {workers}")
        self.workers = workers
        self.min_jobs = min_jobs
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self, wait: bool = False) -> None:
        """Stop the workers. Without `wait` they are not waited for (their teardown, about 0.3 s, overlaps what the
        run does next; the executor's thread joins them, and the interpreter waits for it at exit); with it they
        have exited on return, and their memory is free for what comes next."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None

    def extract(self, jobs: list[ExtractJob], options: ExtractOptions) -> list[Article | Reject]:
        """Results in the order of `jobs`. A worker that dies (a crash in a C library) costs only the document
        that killed it: its chunk is retried one document at a time, and that document becomes a reject."""
        if self.workers == 1 or len(jobs) < self.min_jobs:
            return _extract_chunk(jobs, options)
        chunks = [jobs[start : start + CHUNK_DOCUMENTS] for start in range(0, len(jobs), CHUNK_DOCUMENTS)]
        pool = self._pool()
        futures = [pool.submit(_extract_chunk, chunk, options) for chunk in chunks]
        results: list[Article | Reject] = []
        for chunk, future in zip(chunks, futures, strict=True):
            results += self._result(future, pool) or [self._alone(job, options) for job in chunk]
        return results

    def map(self, fn: Callable, *iterables: Sequence) -> list:
        """`map` on the workers, in order; the derived stages after the loads (dedup, monitors) use it for their
        per-article work while the workers would otherwise be idle. Small inputs, one worker, or a pool that
        broke run in this process."""
        if self.workers == 1 or len(iterables[0]) < self.min_jobs:
            return list(map(fn, *iterables))
        pool = self._pool()
        try:
            return list(pool.map(fn, *iterables, chunksize=4 * CHUNK_DOCUMENTS))
        except BrokenProcessPool:
            if self._executor is pool:
                self.close()
            return list(map(fn, *iterables))

    def _alone(self, job: ExtractJob, options: ExtractOptions) -> Article | Reject:
        pool = self._pool()
        from extractors import Reject

        result = self._result(pool.submit(extract_job, job, options), pool)
        return result or Reject("worker_crashed", "the extraction process died on this document")

    def _result(self, future: Future, pool: ProcessPoolExecutor):
        """The future's result, or None when its worker died (the broken pool is replaced once)."""
        try:
            return future.result()
        except BrokenProcessPool:
            if self._executor is pool:
                self.close()
            return None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = _take_early_workers(self.workers) or _spawn_pool(self.workers)
        return self._executor
