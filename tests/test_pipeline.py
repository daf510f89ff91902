"""Runs of the pipeline core without Prefect, on real DuckDB files: ingest through plain calls and through an
executor, the run's row opened and closed, failures, and the data checks at the end."""

from __future__ import annotations

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import duckdb
import pytest

from fetching.fetch import FetchPolicy
from pipeline.batches import extract_files
from pipeline.ingest import IngestRequest, IngestSteps, ingest_documents
from pipeline.redo import BackfillRequest, backfill_range
from pipeline.runs import RunSteps, find_near_duplicates, open_run
from tests import fixture_site as fs
from tests.crashpoint import warehouse_checksums
from warehouse import changes, dedup
from warehouse.checks import DataChecksFailed

pytestmark = pytest.mark.warehouse

POLICY = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0.0, backoff_base=0.01)


def query(db, sql):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def request(db, **kwargs) -> IngestRequest:
    return IngestRequest(db=str(db), run_id=str(uuid.uuid4()), batch_size=2, **kwargs)


def test_ingest_documents_loads_files_then_changes_nothing(fresh_db, seed_copy):
    summary = ingest_documents(request(fresh_db, paths=[str(seed_copy)]), IngestSteps(extract_workers=1))
    assert (summary["seen"], summary["loaded"], summary["rejected"]) == (5, 5, 0)
    again = ingest_documents(request(fresh_db, paths=[str(seed_copy)]), IngestSteps(extract_workers=1))
    assert (again["loaded"], again["unchanged"]) == (0, 5)
    runs = query(fresh_db, "SELECT flow_name, status, loaded, unchanged, failed_checks FROM runs ORDER BY started_at")
    assert runs == [("ingest", "completed", 5, 0, "{}"), ("ingest", "completed", 0, 5, "{}")]


def test_ingest_documents_fetches_pages_on_an_executor(fresh_db, fixture_site):
    fixture_site.reset()
    urls = [fixture_site.url(fs.RSS_PATH), fixture_site.url(fs.ATOM_PATH), fixture_site.url(fs.MISSING_PATH)]
    with ThreadPoolExecutor(2) as executor:
        steps = IngestSteps(submit=executor.submit, max_pending=3, extract_workers=1)
        summary = ingest_documents(request(fresh_db, urls=urls, policy=POLICY, source_name="site"), steps)
    assert (summary["loaded"], summary["rejected"]) == (4, 1)
    assert query(fresh_db, "SELECT count(*), count(DISTINCT source_name) FROM fetches") == [(4, 1)]
    again = ingest_documents(request(fresh_db, urls=urls, policy=POLICY), IngestSteps(extract_workers=1))
    assert (again["loaded"], again["updated"], again["unchanged"]) == (0, 0, 4)


def test_ingest_documents_bad_file_is_a_reject_and_the_run_goes_on(fresh_db, seed_copy):
    (seed_copy / "broken.html").write_bytes(b"\x00\x01\x02\x03" * 100)
    (seed_copy / "empty.txt").write_bytes(b"")
    summary = ingest_documents(request(fresh_db, paths=[str(seed_copy)]), IngestSteps(extract_workers=1))
    assert (summary["loaded"], summary["rejected"]) == (5, 2)
    assert query(fresh_db, "SELECT reason FROM rejects ORDER BY reason") == [("binary",), ("empty",)]
    assert query(fresh_db, "SELECT status FROM runs") == [("completed",)]


def test_ingest_documents_failing_step_closes_the_run_as_failed_and_raises(fresh_db, seed_copy):
    calls = []

    def breaking(paths, state, options, pool):
        calls.append(len(paths))
        if len(calls) == 2:
            raise RuntimeError("extraction broke")
        return extract_files(paths, state, options, pool)

    with pytest.raises(RuntimeError, match="extraction broke"):
        ingest_documents(request(fresh_db, paths=[str(seed_copy)]), IngestSteps(extract_files=breaking, max_pending=1))
    # The first batch (2 files) committed before the failure; the run's row says failed, with what it loaded.
    assert query(fresh_db, "SELECT status, seen, loaded, finished_at IS NOT NULL FROM runs") == [("failed", 5, 2, True)]
    assert query(fresh_db, "SELECT count(*) FROM articles") == [(2,)]


def test_open_run_failing_block_closes_failed_without_checking(fresh_db):
    checked = []
    steps = RunSteps(check=lambda db, run_id: checked.append(run_id) or [])
    with pytest.raises(KeyboardInterrupt), open_run(str(fresh_db), "run-1", {}, "ingest", steps) as run:
        run.seen = 3
        raise KeyboardInterrupt
    assert checked == []
    assert query(fresh_db, "SELECT run_id, status, seen, failed_checks FROM runs") == [("run-1", "failed", 3, None)]


def test_broken_invariant_fails_the_next_run_after_its_data_is_committed(fresh_db, seed_copy):
    ingest_documents(request(fresh_db, paths=[str(seed_copy)]), IngestSteps(extract_workers=1))
    with duckdb.connect(str(fresh_db)) as conn:
        conn.execute("INSERT INTO articles SELECT * FROM articles ORDER BY source_uri LIMIT 1")
    (seed_copy / "new.txt").write_text("A new article about the station.\n\n" + "The crew slept well. " * 30)
    reported = []
    steps = IngestSteps(run=RunSteps(report_checks=reported.append), extract_workers=1)
    with pytest.raises(DataChecksFailed, match=r"articles_unique_id \(2 rows\)") as failed:
        ingest_documents(request(fresh_db, paths=[str(seed_copy)]), steps)
    assert [f.name for f in failed.value.failures] == ["articles_unique_id"] and reported == [failed.value.failures]
    assert (failed.value.summary["loaded"], failed.value.summary["unchanged"]) == (1, 5)
    assert query(fresh_db, "SELECT count(*) FROM articles WHERE source_uri LIKE '%new.txt'") == [(1,)]  # kept
    status, checks = query(fresh_db, "SELECT status, failed_checks FROM runs ORDER BY started_at DESC LIMIT 1")[0]
    assert status == "failed" and json.loads(checks) == {"articles_unique_id": 2}


def test_backfill_range_reextracts_stored_responses_without_prefect(fresh_db, fixture_site):
    fixture_site.reset()
    urls = [fixture_site.url(fs.RSS_PATH), fixture_site.url(fs.ATOM_PATH)]
    ingest_documents(request(fresh_db, urls=urls, policy=POLICY), IngestSteps(extract_workers=1))
    with duckdb.connect(str(fresh_db)) as conn:
        conn.execute("DELETE FROM articles")
    days = [date(2022, 3, d) for d in range(1, 11)]
    summary = backfill_range(BackfillRequest(db=str(fresh_db), run_id="backfill-1", days=days, policy=POLICY))
    assert (summary["days"], summary["loaded"], summary["rejected"]) == (10, 4, 0)
    assert query(fresh_db, "SELECT status, seen FROM runs WHERE run_id = 'backfill-1'") == [("completed", 10)]


def syndicated_pages(folder, originals: int = 24) -> None:
    """News pages over five days, about a third of them cut pickups of an original on another outlet (a new
    headline, the last paragraphs gone, a line of their own); the files' names do not follow the dates, so the
    batches reach the warehouse out of publication order."""
    rng = random.Random(18)
    words = [f"w{i}" for i in range(3000)]
    pages = []
    for n in range(originals):
        body = [" ".join(rng.choice(words) for _ in range(40)) + "." for _ in range(7)]
        when = datetime(2024, 5, 1, 6) + timedelta(hours=5 * n + rng.randrange(4))
        title = " ".join(rng.choice(words) for _ in range(6))
        pages.append((f"wire{n}", title, body, when))
        for copy in range(n % 3):
            cut = [*body[: 5 + copy], f"Reported for outlet {copy} by its desk."]
            pages.append((f"outlet{copy}-{n}", f"{title} {copy}", cut, when + timedelta(hours=copy + 1)))
    rng.shuffle(pages)
    for number, (site, title, body, when) in enumerate(pages):
        paragraphs = "".join(f"<p>{p}</p>" for p in body)
        (folder / f"{number:03d}.html").write_text(
            f'<html><head><title>{title}</title><meta property="og:site_name" content="{site}">'
            f'<meta property="article:published_time" content="{when:%Y-%m-%dT%H:%M:%S}+00:00"></head>'
            f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>",
            encoding="utf-8",
        )


def test_near_duplicates_found_between_loads_leave_the_warehouse_of_one_pass_at_the_end(tmp_path, monkeypatch):
    """Passes between loads (every 9 articles here) give the tables that one dedup after the last load gives, each
    going on from the change record (none compares every article); a run that fails after some passes, then its
    re-run, give them too."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    syndicated_pages(corpus)
    passes = []

    def counted(db, settings):
        passes.append(db)
        find_near_duplicates(db, settings)

    def ingest(db, every, extract=extract_files):
        steps = IngestSteps(
            run=RunSteps(find_near_duplicates=counted),
            extract_files=extract,
            near_duplicates_every=every,
            extract_workers=1,
        )
        return ingest_documents(
            IngestRequest(db=str(db), run_id=str(uuid.uuid4()), paths=[str(corpus)], batch_size=4), steps
        )

    at_the_end = tmp_path / "end.duckdb"
    summary = ingest(at_the_end, every=10**9)
    assert passes == [] and summary["loaded"] == 48 and summary["duplicates"] == 24
    compared_all = []
    compare_all = changes.compare_all
    for module in (changes, dedup):
        monkeypatch.setattr(module, "compare_all", lambda conn: (compared_all.append(1), compare_all(conn)))
    between = tmp_path / "between.duckdb"
    ingest(between, every=9)
    assert compared_all == []
    assert len(passes) == 4  # after 12, 24, 36 and 48 articles: batches of 4, a pass once 9 were loaded since
    assert warehouse_checksums(between) == warehouse_checksums(at_the_end)
    assert query(between, "SELECT count(DISTINCT story_id) < count(*) FROM articles") == [(True,)]

    calls = []

    def breaking(paths, state, options, pool):
        calls.append(paths)
        if len(calls) == 8:
            raise RuntimeError("extraction broke")
        return extract_files(paths, state, options, pool)

    cut_short = tmp_path / "cut.duckdb"
    passes.clear()
    with pytest.raises(RuntimeError, match="extraction broke"):
        ingest(cut_short, every=9, extract=breaking)
    assert passes and query(cut_short, "SELECT count(*) FROM dedup_pending") == [(1,)]
    ingest(cut_short, every=9)
    assert warehouse_checksums(cut_short) == warehouse_checksums(at_the_end)
