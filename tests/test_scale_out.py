"""Scaling out: the ingest flow on a Dask cluster (prefect-dask) and several writers on one DuckLake warehouse."""

from __future__ import annotations

import fcntl
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEEDS_DIR
from tests.crashpoint import story_groups, warehouse_checksums
from tests.fixture_site import gen_html
from tests.helpers.commands import MEDIAMON, SCHEDULER_ARGV, WORKER_ARGV
from tests.helpers.meeting import MeetingPoint
from tests.helpers.prefect_server import clean_env, free_port, mediamon_env, stop_group
from tests.helpers.route_server import serving
from warehouse.checks import run_data_checks
from warehouse.db import MIGRATIONS_DIR, WarehouseBusy, connect, open_writer

# Pages in each generated folder: what the tests compare is the number of batches (Dask tasks, lake commits
# that may conflict), so batches are small rather than pages many (150 a folder cost 28 CPU-s more a suite).
PAGES = 60
SEEDS = len(list(SEEDS_DIR.glob("*.txt")))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """Two folders of PAGES generated news pages each (the fixture site's), every tenth an exact copy of the
    page before it under another name, so the warehouse has duplicates to find."""
    root = tmp_path_factory.mktemp("generated")
    for part, first in ((1, 1), (2, 1001)):
        folder = root / f"part{part}"
        folder.mkdir()
        for i in range(first, first + PAGES):
            source = i - 1 if i % 10 == 0 else i
            (folder / f"{i:04d}.html").write_bytes(gen_html(source))
    return root


def ingest(*args: str, api_url: str | None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`mediamon ingest` reporting to the Prefect server at `api_url` (None: Prefect's temporary server)."""
    return subprocess.Popen(
        [str(MEDIAMON), "ingest", *args],
        env=mediamon_env(api_url, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(*runs: subprocess.Popen) -> list[str]:
    outputs = [run.communicate(timeout=600) for run in runs]
    failed = [err[-6000:] for run, (_, err) in zip(runs, outputs, strict=True) if run.returncode]
    assert not failed, "\n\n".join(failed)
    return [out + err for out, err in outputs]


@pytest.mark.e2e
def test_dask_local_cluster_gives_the_default_runners_warehouse(tmp_path, generated, prefect_server):
    """The Dask run has no PREFECT_API_URL: flows/runners.py then starts the temporary server itself and points
    the cluster's workers at it (the one test of that path)."""
    inputs = [str(SEEDS_DIR), str(generated / "part1"), "--batch-size", "20"]
    default_db, dask_db = tmp_path / "default.duckdb", tmp_path / "dask.duckdb"
    (default_log,) = finish(ingest(*inputs, "--db", str(default_db), api_url=prefect_server.api_url))
    dask = {"MEDIAMON_TASK_RUNNER": "dask", "MEDIAMON_DASK_WORKERS": "2"}
    (dask_log,) = finish(ingest(*inputs, "--db", str(dask_db), api_url=None, env=dask))
    assert "Creating a new Dask cluster" in dask_log and "Dask" not in default_log
    assert f"{SEEDS + PAGES} loaded" in dask_log and f"{SEEDS + PAGES} loaded" in default_log
    assert warehouse_checksums(dask_db) == warehouse_checksums(default_db)
    with connect(dask_db, read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0] > 0


@pytest.mark.e2e
def test_two_ingests_load_one_ducklake_warehouse_at_the_same_time(tmp_path, generated, prefect_server):
    """Each run also fetches one page from a meeting point that answers only once both have asked: the two
    runs are open at the same moment whichever process starts first or faster (timing alone once let the
    second start after the first had finished, on a loaded machine)."""
    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    api_url = prefect_server.api_url
    web = {"MEDIAMON_ALLOW_PRIVATE_HOSTS": "1"}  # the meeting point is on 127.0.0.1
    with serving(MeetingPoint({"/first.html": gen_html(3001), "/second.html": gen_html(3002)})) as meeting:
        first = [str(SEEDS_DIR), str(generated / "part1"), meeting.url("/first.html")]
        second = [str(generated / "part2"), meeting.url("/second.html")]
        runs = [
            ingest(*first, "--db", lake, "--batch-size", "10", api_url=api_url, env=web),
            ingest(*second, "--db", lake, "--batch-size", "10", api_url=api_url, env=web),
        ]
        finish(*runs)
        with connect(lake, read_only=True) as conn:
            assert (
                conn.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone()
                == (SEEDS + 2 * PAGES + 2,) * 2
            )
            assert run_data_checks(conn) == {}
            (first_run, second_run) = conn.execute(
                "SELECT started_at, finished_at, status, loaded FROM runs ORDER BY loaded DESC"
            ).fetchall()
        assert (first_run[2:], second_run[2:]) == (("completed", SEEDS + PAGES + 1), ("completed", PAGES + 1))
        # Both loaded at the same time: each started before the other finished.
        assert first_run[0] < second_run[1] and second_run[0] < first_run[1]
        # The same input loaded one after the other into a DuckDB file gives the same warehouse and the same
        # story groups; a story is named after its first article, and which article came first depends on which
        # run's story step ran first.
        meeting.meeting.clear()
        single = tmp_path / "single.duckdb"
        finish(ingest(*first, "--db", str(single), api_url=api_url, env=web))
        finish(ingest(*second, "--db", str(single), api_url=api_url, env=web))
    assert warehouse_checksums(lake, story_ids=False) == warehouse_checksums(single, story_ids=False)
    assert story_groups(lake) == story_groups(single)
    assert len(story_groups(single)) > 1  # the groups are not trivially all one story


def open_a_writer(location: str, start: multiprocessing.Event) -> None:
    start.wait()
    with open_writer(location) as conn:
        conn.execute("SELECT count(*) FROM articles").fetchone()


def add_the_key_if_missing(location: str, both_looked: threading.Barrier, spans) -> None:
    """A writer's block that adds a row when it finds none, as every loader and the dedup state do; it waits
    (1 s at most) for the other writer to have looked too before it adds."""
    with open_writer(location) as conn:
        entered = time.monotonic()
        missing = conn.execute("SELECT count(*) = 0 FROM test_keys WHERE k = 'the key'").fetchone()[0]
        try:
            both_looked.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass  # the other writer cannot look while this one holds the lake
        if missing:
            conn.execute("INSERT INTO test_keys VALUES ('the key')")
        spans.append((entered, time.monotonic()))


@pytest.mark.e2e  # several processes racing on one lake
def test_writers_on_one_lake_take_turns_so_none_misses_the_others_rows(tmp_path):
    """DuckLake does not make two commits that only insert conflict: two writers that each found a key missing
    both added it (two runs' dedup updates once stored a pair twice). On a lake with a catalog file, writer blocks
    take turns: the second finds the first's row."""
    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    with open_writer(lake) as conn:
        conn.execute("CREATE TABLE test_keys (k VARCHAR)")
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(["warehouse.db", __name__])
    manager = forkserver.Manager()
    both_looked, spans = manager.Barrier(2), manager.list()
    writers = [forkserver.Process(target=add_the_key_if_missing, args=(lake, both_looked, spans)) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    first, second = sorted(spans)
    assert first[1] <= second[0]  # the blocks did not overlap
    with connect(lake, read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM test_keys").fetchone()[0] == 1
    manager.shutdown()


@pytest.mark.warehouse
def test_a_lake_writer_waits_for_the_write_lock_then_says_the_lake_is_busy(tmp_path):
    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    with open_writer(lake):
        pass
    with open(tmp_path / "lake.sqlite.lock", "a") as held:  # another writer's block
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match="another writer holds its write lock"):
            with open_writer(lake, wait_seconds=0.5):
                pass
        assert time.monotonic() - started >= 0.5
        fcntl.flock(held, fcntl.LOCK_UN)
        with open_writer(lake, wait_seconds=0.5) as conn:  # released: the next writer goes on at once
            assert conn.execute("SELECT count(*) FROM articles").fetchone() == (0,)


@pytest.mark.e2e  # several processes racing on one lake
def test_writers_opening_a_new_lake_at_once_create_it_and_migrate_it_once(tmp_path):
    """No retry here: the first writers of a lake take turns creating it and applying the migrations. Three new
    lakes, four writers each, all released at once. The writers are forked from a server process that imported
    the warehouse code once (not from the test process, which runs threads)."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(["warehouse.db", __name__])
    lakes = [f"ducklake:sqlite:{tmp_path}/lake{round_}.sqlite" for round_ in range(3)]
    start = forkserver.Event()
    writers = {lake: [forkserver.Process(target=open_a_writer, args=(lake, start)) for _ in range(4)] for lake in lakes}
    for writer in [writer for of_lake in writers.values() for writer in of_lake]:
        writer.start()
    start.set()
    for lake, of_lake in writers.items():
        for writer in of_lake:
            writer.join(timeout=120)
        assert [writer.exitcode for writer in of_lake] == [0] * 4, lake
        with connect(lake, read_only=True) as conn:
            versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()]
        assert sorted(versions) == sorted(path.stem for path in MIGRATIONS_DIR.glob("*.sql")), lake


@pytest.mark.e2e
def test_opening_a_lake_waits_while_its_catalog_is_locked(tmp_path):
    """Another writer committing holds the SQLite catalog's lock. DuckDB's SQLite reader waits about 5 s, then
    fails the attach ("database is locked"; seen failing a run's dedup step on a loaded machine): opening the
    lake tries again up to its own wait. The lock is held by another process (SQLite's file locks do not block
    within one process); e2e for its ~13 s of waiting."""
    catalog = tmp_path / "lake.sqlite"
    lake = f"ducklake:sqlite:{catalog}"
    with open_writer(lake) as conn:
        conn.execute("INSERT INTO monitors VALUES ('iss', 'iss undocking')")
    hold = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "db.execute('COMMIT')\n"
    )

    def holding(seconds: float) -> subprocess.Popen:
        holder = subprocess.Popen([sys.executable, "-c", hold, str(catalog), str(seconds)], stdout=subprocess.PIPE)
        assert holder.stdout.readline() == b"locked\n"
        return holder

    holder = holding(60.0)
    with pytest.raises(Exception, match="database is locked"):
        connect(lake, wait_seconds=0).close()  # no wait of its own: the reader's ~5 s only
    holder.kill()
    holder.wait()
    holder = holding(7.0)
    with connect(lake, wait_seconds=30) as conn:
        assert holder.poll() is not None  # it opened only once the lock was released, after the reader's 5 s
        assert conn.execute("SELECT name FROM monitors").fetchall() == [("iss",)]
    holder.wait()


@pytest.mark.warehouse
def test_a_catalog_file_without_a_lake_in_it_gets_one(tmp_path):
    """As another writer's uncommitted creation, or one that crashed, leaves it: the file exists, empty."""
    catalog = tmp_path / "lake.sqlite"
    catalog.touch()
    lake = f"ducklake:sqlite:{catalog}"
    with open_writer(lake) as conn:
        conn.execute("INSERT INTO monitors VALUES ('iss', 'iss undocking')")
    with connect(lake, read_only=True) as conn:
        assert conn.execute("SELECT name FROM monitors").fetchall() == [("iss",)]
        (data_path,) = conn.execute(
            "SELECT value FROM __ducklake_metadata_lake.ducklake_metadata WHERE key = 'data_path'"
        ).fetchone()
    assert data_path == f"{catalog}.files/"


@pytest.mark.e2e
def test_ingest_on_a_running_dask_scheduler_reports_to_the_prefect_server(tmp_path, generated, prefect_server):
    """As docker-compose.scale.yml runs it: `dask scheduler`, `dask worker` processes pointed at the Prefect
    server, and an ingest given the scheduler's address."""
    bin_dir = Path(sys.executable).parent
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = clean_env(PREFECT_API_URL=prefect_server.api_url, PREFECT_HOME=str(tmp_path / "prefect-home"))
    logs = tmp_path / "dask.log"
    loopback = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
    with open(logs, "wb") as out:

        def start(argv: list[str]) -> subprocess.Popen:
            return subprocess.Popen(
                [str(bin_dir / argv[0]), *argv[1:], *loopback],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        scheduler = start([*SCHEDULER_ARGV, "--port", str(port)])
        workers = start([*WORKER_ARGV[:2], address, *WORKER_ARGV[2:]])
    try:
        inputs = [str(SEEDS_DIR), str(generated / "part1"), "--batch-size", "20"]  # 4 batches
        db = tmp_path / "remote.duckdb"
        (log,) = finish(
            ingest(
                *inputs,
                "--db",
                str(db),
                api_url=prefect_server.api_url,
                env={"MEDIAMON_TASK_RUNNER": "dask", "MEDIAMON_DASK_ADDRESS": address, **env},
            )
        )
        assert "Connecting to an existing Dask cluster" in log and f"{SEEDS + PAGES} loaded" in log
        reference = tmp_path / "default.duckdb"
        finish(ingest(*inputs, "--db", str(reference), api_url=prefect_server.api_url))
        assert warehouse_checksums(db) == warehouse_checksums(reference)
        # The extraction batches ran on the workers and were recorded on the server (shared by the session: the
        # flow run's own task runs; the warehouse's run id is the flow run's id).
        with connect(db, read_only=True) as conn:
            (flow_run_id,) = conn.execute("SELECT run_id FROM runs").fetchone()
        runs = httpx.post(
            f"{prefect_server.api_url}/task_runs/filter",
            json={
                "flow_runs": {"id": {"any_": [flow_run_id]}},
                "task_runs": {"name": {"like_": "extract_files"}},
                "limit": 50,
            },
            timeout=30,
        ).json()
        assert len(runs) == 4 and {run["state_type"] for run in runs} == {"COMPLETED"}, (runs, logs.read_text()[-3000:])
    finally:
        stop_group(workers)
        stop_group(scheduler)


@pytest.mark.e2e
def test_a_dask_scheduler_without_a_prefect_server_is_refused(tmp_path):
    done = subprocess.run(
        [str(MEDIAMON), "ingest", str(SEEDS_DIR), "--db", str(tmp_path / "x.duckdb")],
        env={**clean_env(), "MEDIAMON_TASK_RUNNER": "dask", "MEDIAMON_DASK_ADDRESS": "tcp://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "PREFECT_API_URL" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.duckdb").exists()
