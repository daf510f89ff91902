"""Crash consistency and idempotency of `mediamon ingest` on real DuckDB files, real Prefect runs and the fixture site.

The process is killed with SIGKILL at a chosen point (tests/crashpoint.py: during a fetch, mid-extraction, inside a
load transaction before its commit, inside dedup between its committed steps), then run again with the plain
`mediamon` command; the warehouse must then equal the one an uninterrupted run builds from the same input. The
subprocesses share the session's Prefect server (PREFECT_API_URL), so each costs seconds rather than a temporary
server's start-up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT
from tests.crashpoint import journal_batches, stored_sources, warehouse_checksums, write_crash_input
from tests.helpers.prefect_server import mediamon_env

MEDIAMON = Path(sys.executable).parent / "mediamon"
# Where to kill, counted over the process's two flow runs (files, then the site): 7 files and 17 pages are
# extracted (the 14th in the site's second batch, after the files run committed), 23 bodies read (the 21st is a
# feed article in the fetch stage), 8 batches loaded, dedup runs twice.
KILLS = [("fetch", 21), ("extract", 14), ("load", 5), ("dedup", 2)]


@pytest.fixture(scope="module")
def crash_input(tmp_path_factory, fixture_site, prefect_server):
    """The ingest arguments (one input for every run, so source URIs match) and the environment of the runs."""
    root = tmp_path_factory.mktemp("crash")
    return write_crash_input(root, fixture_site), mediamon_env(prefect_server.api_url)


def ingest(args: list[str], db: Path, env: dict[str, str], kill: tuple[str, int] | None = None, journal=None):
    """`mediamon ingest`, or the same command killed at a point (see tests/crashpoint.py)."""
    command = [str(MEDIAMON)] if kill is None else [sys.executable, "-m", "tests.crashpoint", *map(str, kill), journal]
    return subprocess.run(
        [*map(str, command), *args, "--db", str(db)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def three_runs(crash_input, tmp_path_factory):
    """Warehouse checksums after each of three uninterrupted runs over the same input."""
    args, env = crash_input
    db = tmp_path_factory.mktemp("uninterrupted") / "warehouse.duckdb"
    checksums = []
    for _ in range(3):
        done = ingest(args, db, env)
        assert done.returncode == 0, done.stderr[-3000:]
        checksums.append(warehouse_checksums(db))
    return checksums


@pytest.mark.e2e
def test_ingest_three_runs_leave_identical_checksums(three_runs):
    first, second, third = three_runs
    assert all(first[table] for table in ("articles", "rejects", "fetches", "near_duplicates"))  # none empty
    assert second == first and third == first


@pytest.mark.pure
def test_language_of_concurrent_first_detections_is_deterministic():
    """Batches extract in threads: the process's first detections may run at once (a fresh process to see it)."""
    code = """if True:
        import threading
        from extractors.language import detect_language
        from tests.conftest import SEEDS_DIR
        texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))] * 2
        found = []
        threads = [threading.Thread(target=lambda t=t: found.append(detect_language(t)[0])) for t in texts]
        [thread.start() for thread in threads]
        [thread.join() for thread in threads]
        print(sorted(found))"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == str(["en"] * 10), done.stderr[-2000:]


@pytest.mark.e2e
@pytest.mark.parametrize("point, nth", KILLS, ids=[point for point, _ in KILLS])
def test_crash_then_rerun_equals_uninterrupted_run(point, nth, crash_input, three_runs, tmp_path):
    args, env = crash_input
    db, journal = tmp_path / "warehouse.duckdb", tmp_path / "journal.jsonl"
    killed = ingest(args, db, env, kill=(point, nth), journal=journal)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    committed, cut = journal_batches(journal)
    assert committed and stored_sources(db) == committed  # whole batches only, none of the killed one
    assert (point == "load") == bool(cut) and not cut & committed
    again = ingest(args, db, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert warehouse_checksums(db) == three_runs[0]
    with duckdb.connect(str(db), read_only=True) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall())
    assert statuses.get("running") == 1 and set(statuses) == {"completed", "running"}  # the killed run stays open
