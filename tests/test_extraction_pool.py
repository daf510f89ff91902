"""Extraction on the process pool: the same records as in-process, and one bad document costs one reject."""

from __future__ import annotations

import os

import pytest

import pipeline.pool
from config.settings import SettingsError, load_settings
from extractors import Article, ExtractOptions, Reject, document_kind, extract_document
from pipeline.pool import ExtractionPool, ExtractJob, start_workers_early, stop_early_workers
from tests.conftest import FIXTURES_DIR, SEEDS_DIR

pytestmark = pytest.mark.pure

OPTIONS = ExtractOptions()


class KillsWorker:
    """Unpickling this in a worker exits the worker process at once, as a crash in a C library would."""

    def __reduce__(self):
        return (os._exit, (3,))


@pytest.fixture
def jobs() -> list[ExtractJob]:
    """Every seed and HTML fixture, plus bad input, repeated to fill several chunks."""
    paths = sorted(SEEDS_DIR.glob("*.txt")) + sorted((FIXTURES_DIR / "html").glob("*.html"))
    good = [ExtractJob(p.read_bytes(), p.as_uri(), document_kind(p.name)) for p in paths]
    bad = [ExtractJob(b"", "file:///empty.txt", "text"), ExtractJob(b"\x89PNG\r\n\x1a\n" * 8, "file:///x.html", "html")]
    return (good + bad) * 3


def test_extraction_pool_gives_the_serial_records(jobs):
    serial = [extract_document(j.raw, j.source_uri, j.kind, options=OPTIONS) for j in jobs]
    with ExtractionPool(2, min_jobs=1) as pool:
        pooled = pool.extract(jobs, OPTIONS)
        assert pool._executor is not None  # the work went to worker processes
    assert pooled == serial
    assert {type(r) for r in pooled} == {Article, Reject}


def test_extraction_pool_makes_a_raising_document_a_reject(jobs):
    broken = ExtractJob("not bytes", "file:///broken.html", "html")  # extract_document raises on a str
    with ExtractionPool(2, min_jobs=1) as pool:
        results = pool.extract([*jobs[:4], broken, *jobs[4:]], OPTIONS)
    assert results[4].reason == "extract_error" and "TypeError" in results[4].detail
    assert results[:4] + results[5:] == [extract_document(j.raw, j.source_uri, j.kind) for j in jobs]


def test_extraction_pool_survives_a_worker_that_dies(jobs):
    deadly = ExtractJob(KillsWorker(), "file:///deadly.html", "html")
    with ExtractionPool(2, min_jobs=1) as pool:
        results = pool.extract([*jobs[:3], deadly, *jobs[3:]], OPTIONS)
        assert pool.extract(jobs[:8], OPTIONS) == [extract_document(j.raw, j.source_uri, j.kind) for j in jobs[:8]]
    assert results[3] == Reject("worker_crashed", "the extraction process died on this document")
    assert results[:3] + results[4:] == [extract_document(j.raw, j.source_uri, j.kind) for j in jobs]


def test_extraction_pool_map_gives_map_in_order_on_the_workers():
    texts = [f"word{i} " * i for i in range(100)]
    with ExtractionPool(2, min_jobs=1) as pool:
        assert pool.map(str.count, texts, ["word"] * len(texts)) == list(map(str.count, texts, ["word"] * 100))
        assert pool._executor is not None
    with ExtractionPool(2) as pool:
        assert pool.map(len, texts[:3]) == [0, 6, 12]  # too few to start the processes
        assert pool._executor is None


def test_extraction_pool_takes_over_workers_started_early(jobs):
    start_workers_early(2)
    early = pipeline.pool._early[1]
    processes = set(early._processes)
    assert len(processes) == 2  # both spawned at once, importing the extractors while the caller goes on
    with ExtractionPool(2, min_jobs=1) as pool:
        assert pool.extract(jobs, OPTIONS) == [extract_document(j.raw, j.source_uri, j.kind) for j in jobs]
        assert pool._executor is early and set(early._processes) == processes
    assert pipeline.pool._early is None


def test_early_workers_of_another_size_are_not_taken_and_are_stopped(jobs):
    start_workers_early(2)
    early = pipeline.pool._early[1]
    with ExtractionPool(3, min_jobs=1) as pool:
        pool.extract(jobs[:8], OPTIONS)
        assert pool._executor is not early
    stop_early_workers()
    assert pipeline.pool._early is None
    with pytest.raises(RuntimeError, match="shutdown"):
        early.submit(len, "")
    start_workers_early(1)  # one worker extracts in-process: nothing to start
    assert pipeline.pool._early is None


def test_extraction_pool_with_one_worker_starts_no_process(jobs):
    with ExtractionPool(1, min_jobs=1) as pool:
        assert pool.extract(jobs[:3], OPTIONS) == [extract_document(j.raw, j.source_uri, j.kind) for j in jobs[:3]]
        assert pool._executor is None


def test_extract_workers_setting_from_environment():
    assert load_settings({"MEDIAMON_EXTRACT_WORKERS": "3"}).extract_workers == 3
    assert load_settings({}).extract_workers is None
    with pytest.raises(SettingsError, match="MEDIAMON_EXTRACT_WORKERS"):
        load_settings({"MEDIAMON_EXTRACT_WORKERS": "two"})
    with pytest.raises(ValueError, match="at least 1"):
        ExtractionPool(0)


def test_extraction_pool_close_waiting_leaves_no_worker_alive(jobs):
    pool = ExtractionPool(2, min_jobs=1)
    pool.extract(jobs, OPTIONS)
    processes = list(pool._executor._processes.values())
    assert processes and all(p.is_alive() for p in processes)
    pool.close(wait=True)
    assert pool._executor is None
    assert {p.exitcode for p in processes} == {0}  # exited, and joined: their memory is back
