"""One writer at a time: concurrent ingest processes into one DuckDB file wait for each other."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import duckdb
import pytest

from tests.conftest import FIXTURES_DIR, SEEDS_DIR
from tests.fixture_site import gen_html
from tests.helpers.commands import MEDIAMON, hold_write_lock
from tests.helpers.meeting import MeetingPoint
from tests.helpers.prefect_server import mediamon_env
from tests.helpers.route_server import serving


@pytest.mark.e2e
def test_two_concurrent_ingests_both_complete_without_lost_or_doubled_rows(tmp_path, prefect_server):
    """Each run also fetches a page from a meeting point that answers only once both have asked, so the two runs
    are in progress at once and take turns on the file's lock (timing alone does not make them overlap)."""
    first, second = tmp_path / "seeds", tmp_path / "html"
    shutil.copytree(SEEDS_DIR, first)
    shutil.copytree(FIXTURES_DIR / "html", second)
    db = tmp_path / "shared.duckdb"
    env = {**mediamon_env(prefect_server.api_url), "MEDIAMON_ALLOW_PRIVATE_HOSTS": "1"}  # the meeting point
    with serving(MeetingPoint({"/first.html": gen_html(3001), "/second.html": gen_html(3002)})) as meeting:
        runs = [
            subprocess.Popen(
                [str(MEDIAMON), "ingest", str(folder), meeting.url(page), "--db", str(db), "--batch-size", "1"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for folder, page in ((first, "/first.html"), (second, "/second.html"))
        ]
        outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    with duckdb.connect(str(db), read_only=True) as conn:
        counts = conn.execute("SELECT count(*), count(DISTINCT source_uri) FROM articles").fetchone()
        spans = conn.execute("SELECT started_at, finished_at, status FROM runs ORDER BY started_at").fetchall()
    assert counts == (10, 10)  # 5 seeds, 3 fixture pages, 2 fetched pages
    assert [status for _, _, status in spans] == ["completed", "completed"]
    (first_run, second_run) = spans
    assert second_run[0] < first_run[1]  # the second started before the first finished


@pytest.mark.e2e
def test_reader_says_the_warehouse_is_busy_then_answers_when_the_writer_is_done(tmp_path):
    from warehouse.db import open_writer

    db = tmp_path / "busy.duckdb"
    with open_writer(db):
        pass
    writer = hold_write_lock(db, 600)
    try:
        env = {**os.environ, "MEDIAMON_BUSY_WAIT_SECONDS": "60"}
        reader = subprocess.Popen(
            [str(MEDIAMON), "sql", "select count(*) as n from articles", "--db", str(db), "--format", "csv"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        notice = reader.stderr.readline()  # printed while the writer still holds the file
    finally:
        writer.kill()
        writer.wait()
    out, err = reader.communicate(timeout=300)
    assert notice == f"mediamon: warehouse {db} is busy (a flow is writing); retrying for up to 60 s\n"
    assert reader.returncode == 0 and out.splitlines() == ["n", "0"] and err == ""


@pytest.mark.e2e  # another process holds the warehouse
def test_writer_logs_waiting_for_the_lock_and_getting_it(tmp_path, caplog):
    """A writer blocked by another process says so once, and says when it got the lock and how long it waited."""
    import logging
    import time

    from warehouse.db import connect, open_writer

    db = tmp_path / "held.duckdb"
    with caplog.at_level(logging.INFO, logger="mediamon"), open_writer(db):
        pass
    assert caplog.records == []  # nobody held it: nothing to say
    holder = hold_write_lock(db, 1.5)  # another process holds the file for 1.5 s
    try:
        with caplog.at_level(logging.INFO, logger="mediamon"):
            started = time.monotonic()
            connect(db, wait_seconds=60).close()
            waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0][:2] == ("mediamon", "WARNING")
    assert lines[0][2] == f"waiting for the lock on warehouse {db}: another process holds it (up to 60 s)"
    assert lines[1][:2] == ("mediamon", "INFO")
    said = re.fullmatch(rf"got the lock on warehouse {re.escape(str(db))} after waiting ([0-9.]+) s", lines[1][2])
    logged = float(said[1])
    assert 0.5 <= logged <= waited + 0.1
