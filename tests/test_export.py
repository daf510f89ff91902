"""`mediamon export`: one Parquet file per table and reporting view, written atomically; progress bars."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from mediamon.cli import main
from pipeline.progress import progress_bar, track
from warehouse.atomic import atomic_write
from warehouse.db import connect, connect_reader, open_writer
from warehouse.export import export_parquet, export_targets
from warehouse.search import refresh_search_index
from warehouse.views import create_views, view_names

pytest_plugins = ["tests.reporting_fixtures"]  # fixtures: seeds_db, reporting_db, empty_db, seed_ids, seed_day
pytestmark = pytest.mark.warehouse

MEDIAMON = Path(sys.executable).parent / "mediamon"
TABLES = [  # at least these (migrations may add more)
    "articles",
    "dedup_bands",
    "dedup_signatures",
    "fetches",
    "monitor_matches",
    "monitors",
    "near_duplicates",
    "rejects",
    "runs",
    "schema_migrations",
]


def stored_tables(db: Path) -> list[str]:
    """The tables of schema main by name, then the others (the search index) as `<schema>.<table>`."""
    with duckdb.connect(str(db), read_only=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                """SELECT CASE WHEN schema_name = 'main' THEN table_name ELSE schema_name || '.' || table_name END
                   FROM duckdb_tables() ORDER BY schema_name <> 'main', schema_name, table_name"""
            ).fetchall()
        ]


def test_export_every_table_and_view_reads_back(reporting_db, tmp_path, capsys):
    db, _ = reporting_db
    with open_writer(db) as conn:
        refresh_search_index(conn)  # the index's own tables (schema search) are exported too
    out = tmp_path / "exports"
    assert main(["export", "--format", "parquet", "--out", str(out), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    names = stored_tables(db) + view_names()
    assert set(TABLES) <= set(stored_tables(db))
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.parquet" for n in names)  # no temp files left
    with duckdb.connect(str(db), read_only=True) as conn:
        for name in names:
            expected = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            assert duckdb.sql(f"SELECT count(*) FROM '{out / name}.parquet'").fetchone()[0] == expected, name
            assert f"wrote {out / name}.parquet" in printed
    assert f"exported {len(stored_tables(db))} tables and {len(view_names())} views to {out}" in printed
    articles = duckdb.sql(f"SELECT article_id, published_at, tags FROM '{out}/articles.parquet'").fetchall()
    assert len(articles) == 10 and any(r[1] is not None for r in articles)


def test_export_empty_warehouse_keeps_columns(empty_db, tmp_path):
    out = tmp_path / "exports"
    assert main(["export", "--out", str(out), "--db", str(empty_db)]) == 0
    columns = duckdb.sql(f"DESCRIBE SELECT * FROM '{out}/rpt_daily_coverage.parquet'").fetchall()
    assert [c[0] for c in columns][:3] == ["day", "articles", "unique_stories"]
    assert duckdb.sql(f"SELECT count(*) FROM '{out}/articles.parquet'").fetchone()[0] == 0


def test_export_replaces_whole_files_and_cleans_up_on_failure(reporting_db, tmp_path):
    db, _ = reporting_db
    out = tmp_path / "exports"
    out.mkdir()
    (out / "runs.parquet").write_bytes(b"old export")
    with connect(db, read_only=True) as conn:
        create_views(conn, temporary=True)
        written = list(export_parquet(conn, [("runs", "table")], out))
        assert written[0].rows == 4 and duckdb.sql(f"SELECT count(*) FROM '{out}/runs.parquet'").fetchone()[0] == 4
        with pytest.raises(duckdb.CatalogException):
            list(export_parquet(conn, [("articles", "table"), ("no_such_table", "table")], out))
    assert sorted(p.name for p in out.iterdir()) == ["articles.parquet", "runs.parquet"]


def test_export_targets_tables_then_views(empty_db):
    with connect(empty_db, read_only=True) as conn:
        targets = export_targets(conn)
    tables = [name for name, kind in targets if kind == "table"]
    assert tables == stored_tables(empty_db) and set(TABLES) <= set(tables)  # every table, in name order
    assert [name for name, kind in targets if kind == "view"] == view_names()


def test_export_is_read_only(reporting_db, tmp_path):
    db, _ = reporting_db
    before = db.read_bytes()
    assert main(["export", "--out", str(tmp_path / "x"), "--db", str(db)]) == 0
    assert db.read_bytes() == before


def test_export_needs_out_and_parquet(capsys, empty_db):
    with pytest.raises(SystemExit):
        main(["export", "--db", str(empty_db)])
    with pytest.raises(SystemExit):
        main(["export", "--format", "csv", "--out", "x", "--db", str(empty_db)])
    assert "--out" in capsys.readouterr().err


def test_export_missing_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["export", "--out", str(tmp_path / "x"), "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "mediamon ingest" in capsys.readouterr().err


def test_export_draws_no_bar_when_not_a_terminal(reporting_db, tmp_path):
    db, _ = reporting_db
    done = subprocess.run(
        [str(MEDIAMON), "export", "--format", "parquet", "--out", str(tmp_path / "x"), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == ""


def test_progress_bar_draws_on_a_terminal():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with progress_bar("export", total=3, unit="files", console=console) as bar:
        bar.advance(description="export articles")
        bar.advance(2)
    assert "export articles" in screen.getvalue() and "3/3" in screen.getvalue()


def test_progress_bar_silent_elsewhere():
    screen = io.StringIO()
    with progress_bar("ingest", console=Console(file=screen)) as bar:  # not a terminal
        bar.update(total=10)
        bar.advance(10)
    assert screen.getvalue() == ""
    assert list(track([1, 2, 3], "reading")) == [1, 2, 3]


def test_export_writes_the_search_index(reporting_db, tmp_path, capsys):
    db, _ = reporting_db
    out = tmp_path / "exports"
    assert main(["export", "--out", str(out), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    with duckdb.connect(str(db), read_only=True) as conn:
        for table in ("documents", "postings"):
            expected = conn.execute(f"SELECT count(*) FROM search.{table}").fetchone()[0]
            exported = out / f"search.{table}.parquet"
            assert expected > 0 and duckdb.sql(f"SELECT count(*) FROM '{exported}'").fetchone()[0] == expected
            assert f"wrote {exported} (table, " in printed
    columns = duckdb.sql(f"DESCRIBE SELECT * FROM '{out}/search.postings.parquet'").fetchall()
    assert [c[0] for c in columns] == ["article_id", "term", "tf"]


def test_export_writes_nothing_outside_its_folder(reporting_db, tmp_path, monkeypatch):
    """The export's connection is locked down like `mediamon sql`'s: its folder is the one place it may write."""
    db, _ = reporting_db
    monkeypatch.chdir(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    assert main(["export", "--out", "exports", "--db", str(db)]) == 0
    assert {p.name for p in tmp_path.iterdir()} - before == {"exports"}
    with connect_reader(db, writable_dir=tmp_path / "exports") as conn:
        with pytest.raises(duckdb.PermissionException):
            conn.execute(f"COPY (SELECT 1) TO '{tmp_path}/elsewhere.csv'")
        conn.execute(f"COPY (SELECT 1) TO '{tmp_path}/exports/inside.csv'")
    assert not (tmp_path / "elsewhere.csv").exists() and (tmp_path / "exports" / "inside.csv").exists()


def test_atomic_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "page.html"
    target.write_text("old", encoding="utf-8")
    with atomic_write(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".page.html.") and temp.suffix == ".tmp"
        temp.write_text("new", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "old"  # nothing visible until the block ends
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_atomic_write_error_keeps_the_old_file(tmp_path):
    target = tmp_path / "articles.parquet"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["articles.parquet"]  # the temporary file is gone
