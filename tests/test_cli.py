"""The `mediamon` command: README and docs commands, read-only SQL, output formats, busy warehouse."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from extractors import extract_document
from mediamon.cli import main
from tests.conftest import REPO_ROOT, SEEDS_DIR
from tests.helpers.commands import MEDIAMON, documented_commands, documented_pages, hold_write_lock
from tests.helpers.prefect_server import clean_env, free_port, mediamon_env
from warehouse.db import open_writer
from warehouse.load import load_batch
from warehouse.views import view_names


@pytest.fixture
def seeded_db(tmp_path) -> Path:
    """A warehouse holding the seeds, loaded without Prefect (plain function tests)."""
    db = tmp_path / "seeded.duckdb"
    articles = [extract_document(p.read_bytes(), p.as_uri(), "text") for p in sorted(SEEDS_DIR.glob("*.txt"))]
    with open_writer(db) as conn:
        load_batch(conn, articles, [], "run-1")
    return db


def file_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def run_readme_command(command: str, cwd: Path, env: dict) -> str:
    argv = [str(MEDIAMON), *shlex.split(command)[1:]]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (command, done.stderr[-2000:])
    return done.stdout


@pytest.mark.pure
def test_readme_links_point_at_files():
    """Every relative link of the README and docs/ names a file of the repository."""
    for page in [*documented_pages(), REPO_ROOT / "docs" / "sql.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), (page.name, target)


@pytest.mark.e2e
def test_readme_commands_work(tmp_path, fixture_site, prefect_server):
    """Every `$ mediamon` line of the README and docs/, in order; web examples point at the local fixture site.
    The first, `mediamon ingest seeds`, runs as on a fresh machine: no PREFECT_API_URL, so Prefect starts its
    temporary server (the one test of that path for the plain runner); the others report to the session's
    server."""
    commands = documented_commands()
    assert commands[:2] == ["make run", "make test"]
    others = [c for c in commands[2:] if not c.startswith("mediamon ")]
    assert others == [  # test_serve runs these two; nothing else may be shown as a `$` command
        "prefect server start",
        "PREFECT_API_URL=http://127.0.0.1:4200/api mediamon serve",
    ]
    dry_run = subprocess.run(["make", "-n", "run"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "mediamon ingest seeds" in dry_run.stdout
    shutil.copytree(SEEDS_DIR, tmp_path / "seeds")
    example_host = "https://space-news.example"
    (tmp_path / "picks.txt").write_text(f"# analyst picks\n{fixture_site.base_url}/articles/a4.html\n")
    sources = (REPO_ROOT / "sources.example.toml").read_text(encoding="utf-8")
    sources = sources.replace(example_host, fixture_site.base_url)
    (tmp_path / "sources.toml").write_text(sources.replace("min_host_interval = 1.0", "min_host_interval = 0.0"))
    env = mediamon_env(prefect_server.api_url)
    web_env = {**env, "MEDIAMON_ALLOW_PRIVATE_HOSTS": "1"}
    mediamon_commands = [c for c in commands if c.startswith("mediamon ")]
    assert mediamon_commands[0] == "mediamon ingest seeds"
    outputs = {mediamon_commands[0]: run_readme_command(mediamon_commands[0], tmp_path, mediamon_env(None))}
    for command in mediamon_commands[1:]:
        is_web = example_host in command or "--urls" in command or "--source" in command
        outputs[command] = run_readme_command(
            command.replace(example_host, fixture_site.base_url), tmp_path, web_env if is_web else env
        )
    seeds, table, csv_out, json_out = (outputs[c] for c in mediamon_commands[:4])
    assert re.search(r"5 seen, 5 loaded, .* 0 rejects -> data/mediamon.duckdb", seeds)
    assert (tmp_path / "data" / "mediamon.duckdb").exists()
    assert "Russia Launches ‘Musical’ Space Salvo" in table and "NULL" in table
    assert csv_out.splitlines()[0] == "reason,n"
    assert len(json.loads(json_out)) == 3
    web = [outputs[c] for c in mediamon_commands if example_host in c or "--urls" in c or "--source" in c]
    assert len(web) == 4
    assert all("0 rejects" in out for out in web), web
    with duckdb.connect(str(tmp_path / "data" / "mediamon.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT source_uri FROM articles WHERE source_uri LIKE 'http%'").fetchall()
    loaded = {r[0] for r in rows}
    assert loaded == {fixture_site.url(f"/articles/a{i}.html") for i in (1, 2, 3, 4)}


def make_in(tmp_path: Path, target: str, env: dict, **variables: str) -> subprocess.CompletedProcess:
    """`make TARGET` with this repository's Makefile, in a folder holding a copy of the seeds, on the venv running
    the tests (its install taken as done)."""
    venv = Path(sys.executable).parent.parent
    options = [f"VENV={venv}", "-o", str(venv / ".installed"), *(f"{k}={v}" for k, v in variables.items())]
    argv = ["make", "-f", str(REPO_ROOT / "Makefile"), target, *options]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.e2e
def test_make_run_records_its_run_on_a_running_server(tmp_path, prefect_server):
    """With a Prefect server answering on PREFECT_PORT, `make run` starts none and its run shows on that one."""
    shutil.copytree(SEEDS_DIR, tmp_path / "seeds")
    port = prefect_server.api_url.split(":")[2].split("/")[0]
    with prefect_server.client() as client:
        before = len(client.read_flow_runs())
    done = make_in(tmp_path, "run", mediamon_env(None, PYTHONPATH=str(REPO_ROOT)), PREFECT_PORT=port)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "starting a Prefect server" not in done.stdout and not (tmp_path / "data" / "prefect-server.pid").exists()
    assert re.search(r"5 seen, 5 loaded, .* -> data/mediamon.duckdb", done.stdout)
    assert f"http://127.0.0.1:{port}/runs" in done.stdout
    with prefect_server.client() as client:
        runs = client.read_flow_runs()
    assert len(runs) == before + 1 and max(runs, key=lambda r: r.created).state.is_completed()


@pytest.mark.e2e
def test_make_server_starts_one_server_and_stops_it(tmp_path):
    """`make server` starts `prefect server start` in the background when nothing answers, leaves it running,
    reuses it the next time, and `make server-stop` stops it."""
    port = str(free_port())
    env = clean_env(PREFECT_HOME=str(tmp_path / "prefect-home"))
    started = make_in(tmp_path, "server", env, PREFECT_PORT=port)
    pid_file = tmp_path / "data" / "prefect-server.pid"
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "starting a Prefect server" in started.stdout
        pid = int(pid_file.read_text())
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json() is True
        again = make_in(tmp_path, "server", env, PREFECT_PORT=port)
        assert again.returncode == 0 and "starting" not in again.stdout
        assert int(pid_file.read_text()) == pid
        assert make_in(tmp_path, "server-stop", env).returncode == 0
        assert not pid_file.exists()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


@pytest.mark.warehouse
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO articles (article_id) VALUES ('x')",
        "UPDATE articles SET title = 'x'",
        "DELETE FROM articles",
        "CREATE TABLE t AS SELECT 1",
        "DROP TABLE articles",
        "ATTACH 'other.duckdb' AS other",
        "COPY articles TO 'out.csv'",
        "SELECT 1; DELETE FROM articles",
    ],
)
def test_sql_refuses_writes(seeded_db, statement, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = file_md5(seeded_db)
    assert main(["sql", statement, "--db", str(seeded_db)]) == 1
    message = capsys.readouterr().err
    assert "read-only" in message and message.count("\n") == 1
    assert file_md5(seeded_db) == before
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()


@pytest.mark.warehouse
def test_sql_formats(seeded_db, capsys, tmp_path):
    query = "select title, word_count from articles order by source_uri"
    assert main(["sql", query, "--db", str(seeded_db)]) == 0
    table = capsys.readouterr().out
    assert "Russia Launches ‘Musical’ Space Salvo" in table and "word_count" in table
    assert main(["sql", query, "--db", str(seeded_db), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["title", "word_count"] and len(rows) == 6 and rows[2][0] == ""
    assert main(["sql", query, "--db", str(seeded_db), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1] == {"title": None, "word_count": int(rows[2][1])}
    out = tmp_path / "out.parquet"
    assert main(["sql", query, "--db", str(seeded_db), "--format", "parquet", "--out", str(out)]) == 0
    assert duckdb.sql(f"select count(*) from '{out}'").fetchone()[0] == 5


@pytest.mark.warehouse
def test_sql_bad_query_is_one_line(seeded_db, capsys):
    assert main(["sql", "select nope from articles", "--db", str(seeded_db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mediamon: ") and "nope" in err and err.count("\n") == 1


@pytest.mark.warehouse
def test_sql_missing_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["sql", "select 1", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "mediamon ingest" in capsys.readouterr().err


@pytest.mark.e2e
def test_sql_waits_for_writer_then_answers(seeded_db):
    writer = hold_write_lock(seeded_db, 1.5)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [str(MEDIAMON), "sql", "select count(*) as n from articles", "--db", str(seeded_db), "--format", "csv"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        writer.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "5"]
    assert time.monotonic() - started >= 1.0


@pytest.mark.e2e
def test_sql_says_busy_when_writer_holds_on(seeded_db):
    writer = hold_write_lock(seeded_db, 8)
    try:
        env = {**os.environ, "MEDIAMON_BUSY_WAIT_SECONDS": "1"}
        done = subprocess.run(
            [str(MEDIAMON), "sql", "select 1", "--db", str(seeded_db)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        writer.kill()
        writer.wait()
    assert done.returncode == 1
    assert "is busy" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.warehouse
def test_cli_bad_setting_is_one_line(capsys, monkeypatch, seeded_db):
    monkeypatch.setenv("MEDIAMON_BATCH_SIZE", "lots")
    assert main(["sql", "select 1", "--db", str(seeded_db)]) == 1
    assert "MEDIAMON_BATCH_SIZE='lots' is not a valid int" in capsys.readouterr().err


@pytest.mark.pure
def test_cli_ingest_without_targets_says_what_to_give(capsys):
    assert main(["ingest"]) == 1
    assert "give PATH_OR_URL, --urls FILE or --source NAME" in capsys.readouterr().err


@pytest.mark.pure
def test_cli_unknown_source_names_the_known_ones(capsys, tmp_path):
    sources = tmp_path / "sources.toml"
    shutil.copy(REPO_ROOT / "sources.example.toml", sources)
    assert main(["ingest", "--source", "nope", "--sources", str(sources)]) == 1
    err = capsys.readouterr().err
    assert "no source 'nope'" in err and "space-news" in err


@pytest.mark.e2e
def test_cli_reporting_commands_end_to_end(seeded_db, tmp_path):
    """export, report and search through the installed console script, on the seeds."""

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(MEDIAMON), *args, "--db", str(seeded_db)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done

    exported = run("export", "--format", "parquet", "--out", str(tmp_path / "exports"))
    assert re.search(rf"exported \d+ tables and {len(view_names())} views", exported.stdout)  # every rpt_ view
    assert duckdb.sql(f"select count(*) from '{tmp_path}/exports/rpt_syndication.parquet'").fetchone()[0] == 5
    reported = run("report", "--out", str(tmp_path / "report.html"))
    assert reported.stdout.startswith(f"wrote {tmp_path / 'report.html'}")
    found = run("search", "roscosmos video", "--limit", "2")
    assert found.stdout.startswith("1. ") and "2. " in found.stdout and "3. " not in found.stdout
    assert found.stderr == ""  # each load indexed its articles: the stored index covers them all
