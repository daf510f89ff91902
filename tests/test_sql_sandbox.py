"""`mediamon sql` is read-only by construction: DuckDB's own settings confine the connection (no file, URL or
extension beyond the warehouse; configuration locked) and only one SELECT, or EXPLAIN [ANALYZE] of one, runs.

Each attack runs against a real warehouse, a DuckDB file and a `ducklake:sqlite:` lake, and must leave every file
of it unchanged, create no file, and install nothing under $HOME/.duckdb."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from mediamon.cli import main
from mediamon.report import collect_report_data
from tests.conftest import REPO_ROOT
from tests.reporting_fixtures import load_seeds
from warehouse.db import connect_reader
from warehouse.extensions import extension_path
from warehouse.query import REFUSED_FUNCTIONS
from warehouse.views import create_views

BIN = Path(sys.executable).parent
MEDIAMON = BIN / "mediamon"
LOCKED = "the configuration has been locked"
DISABLED = "disabled (by|through) configuration"


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` with the sha256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Warehouse:
    def __init__(self, kind: str, root: Path):
        self.kind, self.root = kind, root
        self.folder = root / "warehouse"
        self.file = self.folder / ("mediamon.duckdb" if kind == "file" else "lake.sqlite")
        self.location = str(self.file) if kind == "file" else f"ducklake:sqlite:{self.file}"
        self.secret = root / "secret.sqlite"  # a SQLite file outside the warehouse


@pytest.fixture(scope="module", params=["file", "ducklake"])
def warehouse(request, tmp_path_factory) -> Warehouse:
    """The seeds (with their search index) in a DuckDB file or a DuckLake lake, built once per module."""
    made = Warehouse(request.param, tmp_path_factory.mktemp(request.param))
    made.folder.mkdir()
    load_seeds(made.location)
    with sqlite3.connect(made.secret) as secret:
        secret.execute("CREATE TABLE t (password TEXT)")
        secret.execute("INSERT INTO t VALUES ('hunter2')")
    return made


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """An empty working folder and an empty $HOME (where DuckDB would install extensions)."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    return work, home


def run_sql(warehouse: Warehouse, query: str, work: Path, home: Path) -> subprocess.CompletedProcess:
    """`mediamon sql` in its own process, $HOME pointed at `home`, run from `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAMON_")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO_ROOT))
    argv = [str(MEDIAMON), "sql", query, "--db", warehouse.location, "--format", "csv"]
    return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=120)


def assert_untouched(warehouse: Warehouse, before: dict[str, str], work: Path, home: Path) -> None:
    assert tree_digest(warehouse.folder) == before, "the warehouse changed"
    assert list(work.iterdir()) == [], "a file was created"
    assert not (home / ".duckdb").exists(), "DuckDB installed something under $HOME"


# Each with what the one-line refusal must say: the statement check's, or DuckDB's permission error.
HEADLINE_ATTACKS = {
    "explain_analyze_copy_over_warehouse": (
        "EXPLAIN ANALYZE COPY (select 'x') TO '{file}' (FORMAT csv)",
        "EXPLAIN of COPY is not allowed",
    ),
    "explain_analyze_create_temp": ("EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1", "EXPLAIN of CREATE"),
    "read_csv_over_http": ("SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')", DISABLED),
    "read_local_file": ("SELECT * FROM read_text('{secret}')", DISABLED),
    "sqlite_scan": ("SELECT * FROM sqlite_scan('{secret}', 't')", r"sqlite_scan\(\) is not allowed"),
    "sqlite_scan_in_query": (
        "SELECT * FROM query('SELECT * FROM sqlite_scan(''{secret}'', ''t'')')",
        r"query\(\) is not allowed",
    ),
    "two_statements": ("select 1; select 42", "2 statements given"),
    "set_external_access": ("SET enable_external_access = true", "SET is not allowed"),
}


@pytest.mark.e2e
@pytest.mark.parametrize("attack", HEADLINE_ATTACKS)
def test_sql_sandbox_refuses_attack_in_a_subprocess(warehouse, attack, tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    query, says = HEADLINE_ATTACKS[attack]
    before = tree_digest(warehouse.folder)
    done = run_sql(warehouse, query.format(file=warehouse.file, secret=warehouse.secret), work, home)
    assert done.returncode == 1, done.stdout
    assert done.stdout == "" and done.stderr.startswith("mediamon: ") and done.stderr.count("\n") == 1, done.stderr
    assert re.search(says, done.stderr), done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert_untouched(warehouse, before, work, home)


# Statements that write or reach outside; each is also tried under EXPLAIN ANALYZE (and EXPLAIN).
WRITING_STATEMENTS = {
    "copy_to": ("COPY articles TO 'out.csv'", "COPY"),
    "copy_to_warehouse": ("COPY (SELECT 'x') TO '{file}' (FORMAT csv)", "COPY"),
    "attach": ("ATTACH 'other.duckdb' AS other", "ATTACH"),
    "install": ("INSTALL httpfs", "LOAD"),
    "load": ("LOAD '{fts}'", "LOAD"),
    "pragma": ("PRAGMA enable_profiling", "PRAGMA"),
    "pragma_setting": ("PRAGMA profile_output = 'profile.json'", "SET"),
    "call": ("CALL checkpoint()", "CALL"),
    "export_database": ("EXPORT DATABASE 'exported'", "EXPORT"),
    "create": ("CREATE TABLE t AS SELECT 1", "CREATE"),
    "create_secret": ("CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE"),
    "insert": ("INSERT INTO runs (run_id) VALUES ('x')", "INSERT"),
    "update": ("UPDATE articles SET title = 'x'", "UPDATE"),
    "delete": ("DELETE FROM articles", "DELETE"),
    "checkpoint": ("CHECKPOINT", "CALL"),
    "set": ("SET autoinstall_known_extensions = true", "SET"),
    "reset": ("RESET enable_external_access", "SET"),
    "use": ("USE memory", "SET"),
    "drop": ("DROP TABLE articles", "DROP"),
}


@pytest.mark.warehouse
@pytest.mark.parametrize("name", WRITING_STATEMENTS)
def test_sql_sandbox_refuses_statement_and_its_explain(warehouse, name, sandbox, capsys):
    work, home = sandbox
    statement, kind = WRITING_STATEMENTS[name]
    statement = statement.format(file=warehouse.file, fts=extension_path("fts"))
    before = tree_digest(warehouse.folder)
    for query, says in [
        (f"EXPLAIN ANALYZE {statement}", f"EXPLAIN of {kind} is not allowed"),
        (statement, f"{kind} is not allowed"),
        (f"explain /* a comment */ analyze\n  {statement};", f"EXPLAIN of {kind} is not allowed"),
        (f"EXPLAIN (FORMAT json) {statement}", f"EXPLAIN of {kind} is not allowed"),
    ]:
        assert main(["sql", query, "--db", warehouse.location]) == 1, query
        err = capsys.readouterr().err
        assert err.startswith("mediamon: ") and err.count("\n") == 1, err
        if query != statement and "Parser Error" in err:
            continue  # DuckDB cannot EXPLAIN this statement at all (ATTACH, INSTALL, SET...): nothing ran
        assert says in err and "read-only" in err, (query, err)
    assert_untouched(warehouse, before, work, home)


@pytest.mark.warehouse
def test_sql_sandbox_refuses_before_waiting_for_a_busy_warehouse(tmp_path, monkeypatch, capsys):
    """A refused statement is refused by its text alone: no wait while another process writes the warehouse
    (a permitted SELECT waits for it; test_cli covers that)."""
    db = tmp_path / "busy.duckdb"
    load_seeds(db)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True);"
         " time.sleep(60)", str(db)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == b"locked\n"
        monkeypatch.setenv("MEDIAMON_BUSY_WAIT_SECONDS", "30")
        started = time.monotonic()
        assert main(["sql", "DROP TABLE articles", "--db", str(db)]) == 1
        waited = time.monotonic() - started
        err = capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert "DROP is not allowed" in err and "busy" not in err, err
    assert waited < 10, waited  # the busy wait is 30 s
    assert main(["sql", "select count(*) from articles", "--db", str(db), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["count_star()", "5"]


@pytest.mark.warehouse
def test_sql_sandbox_settings_are_locked(warehouse, sandbox):
    for statement in [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET autoinstall_known_extensions = true",
        "SET autoload_known_extensions = true",
        "SET allowed_directories = ['/']",
        "SET python_enable_replacements = true",
        "SET lock_configuration = false",
    ]:
        # A fresh reader each time: on a lake, a failed statement aborts the reader's snapshot transaction.
        with connect_reader(warehouse.location) as conn, pytest.raises(duckdb.Error, match=LOCKED):
            conn.execute(statement)
    with connect_reader(warehouse.location) as conn:
        settings = dict(
            conn.execute(
                """SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access',
                   'autoinstall_known_extensions', 'autoload_known_extensions', 'lock_configuration',
                   'python_enable_replacements')"""
            ).fetchall()
        )
    assert settings == {
        "enable_external_access": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "lock_configuration": "true",
        "python_enable_replacements": "false",
    }


@pytest.mark.warehouse
def test_sql_sandbox_reader_opens_no_file_but_the_warehouse(warehouse, sandbox):
    """Below the statement check: even SQL that reached the connection could not read, write or install."""
    work, home = sandbox
    (work / "notes.csv").write_text("a\n1\n")
    before = tree_digest(warehouse.folder)
    for sql in [
        "SELECT * FROM read_csv('notes.csv')",
        f"SELECT * FROM read_blob('{warehouse.secret}')",
        "SELECT * FROM glob('/etc/*')",
        f"COPY (SELECT 'x') TO '{warehouse.file}' (FORMAT csv)",
        "COPY (SELECT 1) TO 'out.parquet'",
        f"SELECT * FROM read_parquet('{warehouse.folder}/**/*.parquet')",
        "INSTALL httpfs",
        f"LOAD '{extension_path('fts')}'",
    ]:
        with connect_reader(warehouse.location) as conn, pytest.raises(duckdb.Error, match=DISABLED):
            conn.execute(sql)
    if warehouse.kind == "ducklake":  # maintenance functions would write new data files: none can be opened
        with connect_reader(warehouse.location) as conn, pytest.raises(duckdb.Error, match=DISABLED):
            conn.execute("SELECT * FROM ducklake_flush_inlined_data(current_database())")
    (work / "notes.csv").unlink()
    assert_untouched(warehouse, before, work, home)


@pytest.mark.warehouse
def test_sql_sandbox_refuses_functions_reading_outside(warehouse, sandbox, capsys):
    for name in sorted(REFUSED_FUNCTIONS):
        query = f"SELECT count(*) FROM (SELECT 1) s, LATERAL (SELECT * FROM {name}('x', 'y')) t"
        assert main(["sql", query, "--db", warehouse.location]) == 1
        assert f"{name}() is not allowed" in capsys.readouterr().err


README_QUERIES = [
    "select title, language, word_count from articles",
    "select reason, count(*) as n from rejects group by reason",
    "select title, published_at from articles order by word_count desc limit 3",
    "select day, outlet, story_key, title from rpt_articles order by day desc limit 10",
    "select * from rpt_daily_coverage",
    "select outlet, articles, share_of_articles, first_seen, last_seen from rpt_outlets limit 10",
    "select title, outlet, pickups, pickup_outlet_names from rpt_syndication order by pickups desc limit 5",
    "select monitor, day, articles from rpt_monitor_matches order by day desc",
    "select kind, stage, reason, host, source_name, n, last_at from rpt_ingest_health",
    "select started_at, source_name, status, duration_seconds, loaded, rejected from rpt_runs limit 5",
]
READS = {
    "select": ("SELECT count(*) AS n FROM articles", "5"),
    "with": ("WITH a AS (SELECT * FROM articles) SELECT count(*) AS n FROM a", "5"),
    "from_first": ("FROM articles SELECT count(*) AS n", "5"),
    "explain": ("EXPLAIN SELECT count(*) FROM articles", "physical_plan"),
    "explain_analyze": ("-- how long?\nEXPLAIN ANALYZE (SELECT count(*) FROM articles)", "analyzed_plan"),
    "explain_options": ("EXPLAIN (FORMAT json) SELECT 1", "physical_plan"),
    "describe": ("DESCRIBE articles", "article_id"),
    "show_tables": ("SHOW TABLES", "articles"),
    "summarize": ("SUMMARIZE articles", "word_count"),
    "search_index": ("SELECT count(*) > 0 AS indexed FROM search.postings", "True"),
    "pragma_table_info": ("PRAGMA table_info('runs')", "run_id"),
    "trailing_semicolon": ("SELECT 42 AS answer;", "42"),
}


@pytest.mark.warehouse
@pytest.mark.parametrize("name", READS)
def test_sql_sandbox_allows_reads(warehouse, name, sandbox, capsys):
    query, shows = READS[name]
    assert main(["sql", query, "--db", warehouse.location, "--format", "csv"]) == 0, capsys.readouterr().err
    assert shows in capsys.readouterr().out


@pytest.mark.warehouse
def test_sql_sandbox_allows_readme_queries_and_parquet_output(warehouse, sandbox, capsys):
    work, home = sandbox
    before = tree_digest(warehouse.folder)
    for query in README_QUERIES:
        assert main(["sql", query, "--db", warehouse.location, "--format", "json"]) == 0, capsys.readouterr().err
    out = work / "titles.parquet"
    assert main(["sql", README_QUERIES[0], "--db", warehouse.location, "--format", "parquet", "--out", str(out)]) == 0
    assert duckdb.sql(f"SELECT count(*) FROM '{out}'").fetchone()[0] == 5
    out.unlink()
    assert_untouched(warehouse, before, work, home)


@pytest.mark.warehouse
def test_sql_sandbox_report_runs_on_a_locked_reader(warehouse, sandbox):
    """The report's queries need nothing the lock takes away (`mediamon report` can use connect_reader)."""
    work, home = sandbox
    before = tree_digest(warehouse.folder)
    with connect_reader(warehouse.location) as conn:
        create_views(conn, temporary=True)
        data = collect_report_data(conn)
    assert data.summary["articles"] == 5
    assert_untouched(warehouse, before, work, home)


@pytest.mark.warehouse
def test_sql_sandbox_stemmer_loads_before_the_lock(warehouse, sandbox):
    """Extensions asked for are loaded from their wheels before the lock; any other stays out."""
    with connect_reader(warehouse.location, extensions=("fts",)) as conn:
        assert conn.execute("SELECT stem('videos', 'porter')").fetchone()[0] == "video"
    with connect_reader(warehouse.location) as conn, pytest.raises(duckdb.CatalogException):
        conn.execute("SELECT stem('videos', 'porter')")


DOCS = REPO_ROOT / "docs" / "sql.md"


def docs_commands() -> list[str]:
    """Every `$ ` line of docs/sql.md's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


@pytest.mark.e2e
def test_sql_docs_commands_run_including_the_duckdb_shell_with_fts(tmp_path):
    """docs/sql.md's commands, in order, from a folder holding data/mediamon.duckdb: the shell is .venv's."""
    (tmp_path / "data").mkdir()
    load_seeds(tmp_path / "data" / "mediamon.duckdb")
    commands = docs_commands()
    assert any(c.startswith("duckdb ") and "warehouse.extensions fts" in c for c in commands)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAMON_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", PYTHONPATH=str(REPO_ROOT), HOME=str(tmp_path))
    outputs = []
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout)
    shell = next(out for c, out in zip(commands, outputs, strict=True) if "warehouse.extensions fts" in c)
    assert re.search(r"│\s*run\s*│\s*5\s*│", shell), shell  # stem('running', 'porter'): fts, from its wheel
    assert (BIN / "duckdb").exists()
    version = subprocess.run([str(BIN / "duckdb"), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith(f"v{duckdb.__version__} ")
