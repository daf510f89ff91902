"""A backfill's derived stages (dedup, stories, monitors) start no extraction processes for a few articles."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime

import pytest

import pipeline.pool
from extractors import Article, extract_document
from pipeline.batches import ExtractedBatch
from pipeline.pool import MIN_FRESH_MAP_JOBS, MIN_POOL_JOBS
from pipeline.redo import BackfillRequest, BackfillSteps, backfill_range
from pipeline.runs import load_extracted, prepare_warehouse
from warehouse.db import open_writer

pytestmark = pytest.mark.warehouse

WORDS = "orbit module crew station docking launch capsule segment thruster hatch cargo solar".split()


def article(n: int) -> Article:
    text = " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] + str(i % (n + 5)) for i in range(120))
    found = extract_document(f"Story {n}\n\n{text}.".encode(), f"https://news.example/{n}", "text")
    return dataclasses.replace(found, published_at=datetime(2022, 3, 1, 12))


def test_backfill_derived_stages_run_in_process_below_the_fresh_pool_minimum(fresh_db, monkeypatch):
    count = MIN_POOL_JOBS + 8  # enough to start a pool's processes, were the derived stages' minimum that of a batch
    assert count < MIN_FRESH_MAP_JOBS
    run_id = str(uuid.uuid4())
    prepare_warehouse(str(fresh_db), run_id, {}, "ingest")
    load_extracted(str(fresh_db), ExtractedBatch(articles=[article(n) for n in range(count)]), run_id)
    spawned = []
    real_spawn = pipeline.pool._spawn_pool
    monkeypatch.setattr(pipeline.pool, "_spawn_pool", lambda workers: spawned.append(workers) or real_spawn(workers))
    request = BackfillRequest(db=str(fresh_db), run_id=str(uuid.uuid4()), days=[date(2022, 3, 1)], mode="rededup")
    backfill_range(request, BackfillSteps(extract_workers=2))
    assert spawned == []
    with open_writer(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM dedup_signatures").fetchone()[0] == count
