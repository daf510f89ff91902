"""Warehouse functions on real DuckDB files: migrations, idempotent loads, rejects, exact duplicates."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from extractors import Article, Reject, extract_document
from warehouse.checks import run_data_checks, table_checksum
from warehouse.db import MIGRATIONS_DIR, connect, migrate, open_writer
from warehouse.load import FetchRecord, LoadCounts, RejectedDocument, known_documents, load_batch
from warehouse.staging import MAX_DATE_RANGES, articles_by_id, date_filter, registered

pytestmark = pytest.mark.warehouse
VOLATILE = ("ingested_at", "first_ingested_at", "run_id")


def seed_articles(seed_paths) -> list[Article]:
    return [extract_document(p.read_bytes(), p.as_uri(), "text") for p in seed_paths]


def registered_names(conn) -> set[str]:
    """Arrow tables registered on the connection (they are temporary views), but for the search stop words,
    registered once for the connection's life by load_fts."""
    rows = conn.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()
    return {name for (name,) in rows} - {"search_stopwords"}


def test_migrate_records_versions_and_is_rerunnable(fresh_db):
    with open_writer(fresh_db) as conn:
        assert migrate(conn) == []  # open_writer already applied them
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert versions == [(p.stem,) for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]
    assert versions[0] == ("001_init",)
    assert {"articles", "rejects", "runs", "fetches", "schema_migrations"} <= tables


def test_load_batch_is_idempotent(fresh_db, seed_paths):
    articles = seed_articles(seed_paths)
    with open_writer(fresh_db) as conn:
        first = load_batch(conn, articles, [], "run-1")
        before = table_checksum(conn, "articles")
        second = load_batch(conn, articles, [], "run-2")
        after = table_checksum(conn, "articles")
        rows = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert first == LoadCounts(loaded=5)
    assert second == LoadCounts(unchanged=5)
    assert before == after and rows == 5


def test_load_batch_updates_changed_article_in_place(fresh_db, seed_paths):
    original = seed_articles(seed_paths)[0]
    edited = dataclasses.replace(original, text=original.text + "\n\nAn update paragraph.", raw_sha256="edited")
    with open_writer(fresh_db) as conn:
        load_batch(conn, [original], [], "run-1")
        first_at = conn.execute("SELECT ingested_at FROM articles").fetchone()[0]
        counts = load_batch(conn, [edited], [], "run-2")
        row = conn.execute("SELECT article_id, text, ingested_at, first_ingested_at, run_id FROM articles").fetchall()
    assert counts == LoadCounts(updated=1)
    assert len(row) == 1
    article_id, text, ingested_at, first_ingested_at, run_id = row[0]
    assert article_id == original.article_id and text.endswith("An update paragraph.")
    assert ingested_at > first_at and first_ingested_at == first_at and run_id == "run-2"


def test_load_batch_rejects_are_recorded_once_and_cleared_on_success(fresh_db, seed_paths):
    article = seed_articles(seed_paths)[0]
    rejected = RejectedDocument(article.source_uri, "extract", Reject("empty", "0 bytes"))
    with open_writer(fresh_db) as conn:
        load_batch(conn, [], [rejected], "run-1")
        load_batch(conn, [], [rejected], "run-2")
        assert conn.execute("SELECT reason, run_id FROM rejects").fetchall() == [("empty", "run-1")]
        load_batch(conn, [article], [], "run-3")
        assert conn.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0


def test_load_batch_rolls_back_whole_batch_on_failure(fresh_db, seed_paths, monkeypatch):
    articles = seed_articles(seed_paths)
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles[:2], [], "run-1")
        before = table_checksum(conn, "articles")

        def crash(*_args):
            raise RuntimeError("disk full")

        monkeypatch.setattr("warehouse.load._store_fetches", crash)  # fails after articles and rejects are in
        fetch = FetchRecord(
            "https://a.example/1",
            "https://a.example/1",
            200,
            (),
            "text/html",
            None,
            None,
            None,
            b"",
            0,
            "0" * 64,
            None,
            None,
            datetime(2022, 3, 5),
            1,
        )
        with pytest.raises(RuntimeError):
            load_batch(
                conn, articles[2:], [RejectedDocument("file:///x", "read", Reject("empty"))], "run-2", fetches=[fetch]
            )
        assert table_checksum(conn, "articles") == before
        assert conn.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
        assert registered_names(conn) == set()  # staged, staged_rejects and staged_fetches were unregistered


def test_registered_unregisters_when_the_block_raises(fresh_db):
    with open_writer(fresh_db) as conn:
        with registered(conn, "staged", pa.table({"n": [1, 2]})) as name:
            assert conn.execute(f"SELECT sum(n) FROM {name}").fetchone()[0] == 3
        assert registered_names(conn) == set()
        with pytest.raises(RuntimeError), registered(conn, "staged", pa.table({"n": [1]})):
            raise RuntimeError("failed mid-load")
        assert registered_names(conn) == set()
        conn.begin()  # in a transaction that failed too: unregistering still works, and the error is kept
        with pytest.raises(duckdb.ConstraintException), registered(conn, "staged", pa.table({"version": ["001_init"]})):
            conn.execute("INSERT INTO schema_migrations (version) SELECT version FROM staged")
        conn.rollback()
        assert registered_names(conn) == set()


def test_articles_by_id_reads_exactly_the_ids_asked_whatever_their_dates(fresh_db):
    """The date filter that spares the other texts keeps every asked article: undated ones, dates further apart than
    MAX_DATE_RANGES ranges can hold, and equal dates."""
    start = datetime(2023, 1, 1, 12)
    dates = [start + timedelta(days=3 * n, minutes=n % 7) for n in range(3 * MAX_DATE_RANGES)]
    dates += [None, None, start]
    articles = [
        Article(source_uri=f"https://x.example/{n}", text=f"text {n}", word_count=2, content_hash=f"h{n}",
                raw_sha256=f"r{n}", published_at=date)
        for n, date in enumerate(dates)
    ]  # fmt: skip
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1")
        asked = [a for n, a in enumerate(articles) if n % 3 == 0 or a.published_at in (None, start)]
        rows = articles_by_id(conn, [a.article_id for a in asked], "article_id, text, published_at")
        assert sorted(rows) == sorted((a.article_id, a.text, a.published_at) for a in asked)
        assert articles_by_id(conn, [], "article_id") == []
        stored = conn.execute(f"SELECT count(*) FROM articles WHERE {date_filter([a.published_at for a in asked])}")
        assert len(asked) <= stored.fetchone()[0] < len(articles)
    assert date_filter([]) == "(FALSE)" and date_filter([None]) == "(published_at IS NULL)"


def test_known_documents_lists_loaded_bytes(fresh_db, seed_paths):
    articles = seed_articles(seed_paths)
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1")
        known = known_documents(conn)
    assert known[articles[0].source_uri] == (articles[0].raw_sha256, articles[0].extractor_version)


def test_data_checks_catch_bad_rows(fresh_db, seed_paths):
    with open_writer(fresh_db) as conn:
        load_batch(conn, seed_articles(seed_paths), [], "run-1")
        assert run_data_checks(conn) == {}
        conn.execute(
            "UPDATE articles SET language = 'english' WHERE word_count = (SELECT max(word_count) FROM articles)"
        )
        conn.execute("INSERT INTO rejects VALUES ('file:///x', 'somewhere', 'Bad Reason', '', 'r', now())")
        failures = run_data_checks(conn)
    assert set(failures) == {"articles_language_codes", "rejects_reasons"}


def fetch_record(url: str, body: bytes) -> FetchRecord:
    return FetchRecord(
        url, url, 200, (), "text/html", None, None, None, body, len(body), "0" * 64, None, None, datetime(2022, 3, 5), 1
    )


def test_migration_005_keeps_rows_and_drops_per_row_indexes(tmp_path, seed_paths, monkeypatch):
    older = tmp_path / "migrations"
    older.mkdir()
    # 001-004, 006, 007, 013 and 014: the views and load code of this version keep their fingerprint and index
    # there (rpt_ingest_health reads the table of 013, rpt_media those of 014).
    later = [
        MIGRATIONS_DIR / name
        for name in (
            "006_view_definitions.sql",
            "007_search_index.sql",
            "013_history_days.sql",
            "014_article_media.sql",
        )
    ]
    for script in sorted(MIGRATIONS_DIR.glob("*.sql"))[:4] + later:
        (older / script.name).write_text(script.read_text())
    db = tmp_path / "upgraded.duckdb"
    monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", older)
    with open_writer(db) as conn:
        # Rows as that version's loads wrote them: the columns of its schema (today's load writes later ones too).
        for a in seed_articles(seed_paths):
            conn.execute(
                """INSERT INTO articles (article_id, source_uri, title, text, word_count, content_hash, raw_sha256,
                                         extractor_version, first_ingested_at, ingested_at, run_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP, 'run-1')""",
                [a.article_id, a.source_uri, a.title, a.text, a.word_count, a.content_hash, a.raw_sha256, "1"],
            )
        conn.execute(
            "INSERT INTO fetches (url, final_url, status, body_gzip, fetched_at, run_id) VALUES (?, ?, 200, ?, ?, ?)",
            ["https://a.example/1", "https://a.example/1", b"x", datetime(2022, 3, 5), "run-1"],
        )
        before = table_checksum(conn, "articles")
        assert (
            conn.execute(
                "SELECT count(*) FROM duckdb_constraints() WHERE table_name IN ('articles', 'fetches')"
                " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
            ).fetchone()[0]
            == 3
        )
    monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", MIGRATIONS_DIR)
    with open_writer(db) as conn:
        # Every row kept; the columns added since (009) are NULL on rows loaded before them.
        assert table_checksum(conn, "articles", exclude=("published_utc_offset", "replaced_bytes")) == before
        assert conn.execute(
            "SELECT count(*) FROM articles WHERE published_utc_offset IS NULL AND replaced_bytes IS NULL"
        ).fetchone()[0] == len(seed_paths)
        assert conn.execute("SELECT count(*) FROM fetches").fetchone()[0] == 1
        assert (
            conn.execute(
                "SELECT count(*) FROM duckdb_constraints() WHERE table_name IN ('articles', 'fetches')"
                " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
            ).fetchone()[0]
            == 0
        )
        assert run_data_checks(conn) == {}


def test_load_batch_keeps_one_row_per_article_and_fetched_url(fresh_db, seed_paths):
    articles = seed_articles(seed_paths)
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1", fetches=[fetch_record("https://a.example/1", b"old")])
        load_batch(conn, articles[:2], [], "run-2", fetches=[fetch_record("https://a.example/1", b"new")])
        assert conn.execute("SELECT body_gzip FROM fetches").fetchall() == [(b"new",)]
        assert run_data_checks(conn) == {}
        conn.execute("INSERT INTO articles SELECT * FROM articles LIMIT 1")
        conn.execute("INSERT INTO fetches SELECT * FROM fetches")
        assert set(run_data_checks(conn)) == {"articles_unique_id", "fetches_unique_url"}


def test_connect_read_only_missing_file_says_what_to_do(tmp_path):
    from warehouse.db import WarehouseMissing

    with pytest.raises(WarehouseMissing, match="mediamon ingest"):
        connect(tmp_path / "none.duckdb", read_only=True)


@dataclasses.dataclass(frozen=True)
class ScoredArticle(Article):
    sentiment: float | None = None


def test_load_batch_stages_the_columns_a_migration_adds(fresh_db, seed_paths):
    """The staged schema is read from the live table: a new column is filled from the record's field of that name,
    and one the records do not carry fails the load, naming it, before anything is written."""
    original = seed_articles(seed_paths)[0]
    with open_writer(fresh_db) as conn:
        conn.execute("ALTER TABLE articles ADD COLUMN sentiment DOUBLE")  # as a migration 0xx would
    with open_writer(fresh_db) as conn:
        with pytest.raises(TypeError, match="sentiment.*_SET_BY_WAREHOUSE"):
            load_batch(conn, [original], [], "run-1")
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
        scored = ScoredArticle(
            **{f.name: getattr(original, f.name) for f in dataclasses.fields(Article)}, sentiment=0.5
        )
        assert load_batch(conn, [scored], [], "run-1") == LoadCounts(loaded=1)
        row = conn.execute("SELECT article_id, sentiment, tags, text FROM articles").fetchone()
    assert row == (original.article_id, 0.5, list(original.tags), original.text)


def test_a_writer_migrates_a_location_once_a_process_and_again_when_it_was_replaced(fresh_db, tmp_path, monkeypatch):
    """A run opens a writer per step and per batch: only the first of a location applies migrations and views;
    the later ones check that every migration is recorded, so a warehouse deleted or replaced in between is
    migrated again (one missing a migration: test_search_of_a_warehouse_from_before_the_index; edited view
    files: test_views_follow_their_files_on_next_migrate). Siblings: a DuckDB file and a lake."""
    import shutil

    import warehouse.db as db

    calls = []
    real_migrate = db.migrate
    monkeypatch.setattr(db, "migrate", lambda conn: calls.append(1) or real_migrate(conn))
    catalog = tmp_path / "lake.sqlite"
    for location in (fresh_db, f"ducklake:sqlite:{catalog}"):
        calls.clear()
        for number in range(3):
            with open_writer(location) as conn:
                conn.execute("INSERT INTO monitors VALUES (?, 'iss undocking')", [f"iss-{number}"])
        assert len(calls) == 1, location
        if location == fresh_db:
            fresh_db.unlink()
            with duckdb.connect(str(fresh_db)) as conn:  # another database in its place
                conn.execute("CREATE TABLE notes (line VARCHAR)")
        else:
            catalog.unlink()
            shutil.rmtree(f"{catalog}.files", ignore_errors=True)
        with open_writer(location) as conn:
            assert len(calls) == 2, location
            versions = [p.stem for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]
            assert conn.execute("SELECT list(version ORDER BY version) FROM schema_migrations").fetchone() == (
                versions,
            )
            assert conn.execute("SELECT count(*) FROM monitors").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM rpt_articles").fetchone() == (0,)


def test_extension_files_are_signature_checked_once_a_process_and_again_when_changed(tmp_path):
    """DuckDB hashes an extension's whole file at every LOAD (60 ms for ducklake). A file checked once in this
    process is loaded unchecked by later connections opened with `verified_config`, but only while it is
    unchanged: a changed file is checked again first, and a tampered one never loads."""
    from warehouse.extensions import extension_path, load_extension_file, verified_config

    original = extension_path("fts")
    copy = tmp_path / "fts.duckdb_extension"
    copy.write_bytes(original.read_bytes())
    skipping = {"allow_unsigned_extensions": True}
    with duckdb.connect() as conn:  # checked: recorded
        load_extension_file(conn, copy)
    with duckdb.connect(config=skipping) as conn:
        load_extension_file(conn, copy)
        assert conn.execute(
            "SELECT count(*) FROM duckdb_extensions() WHERE loaded AND extension_name = 'fts'"
        ).fetchone() == (1,)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = tmp_path / "tampered" / "fts.duckdb_extension"
    tampered.parent.mkdir()
    tampered.write_bytes(bytes(data))
    for path in (tampered, copy):
        if path is copy:  # the checked file itself replaced (not rewritten in place: it is mapped, loaded)
            tampered.replace(copy)
        for config in ({}, skipping):
            with duckdb.connect(config=config) as conn, pytest.raises(duckdb.Error, match="signature"):
                load_extension_file(conn, path)
    # The lake's extensions, once a lake was opened here, are loaded unchecked by the next connection.
    with open_writer(f"ducklake:sqlite:{tmp_path / 'lake.sqlite'}"):
        pass
    assert verified_config(("ducklake", "sqlite_scanner"))["allow_unsigned_extensions"] is True
    assert verified_config(("ducklake", "no_such_extension")) == {}


def test_a_reader_that_skipped_the_checks_still_loads_nothing_else(tmp_path, seed_paths):
    """Once this process checked the extensions a reader needs, the next reader is opened with
    `allow_unsigned_extensions` (and no auto-loading); locked down, it can still LOAD nothing (sibling of the SQL
    sandbox's refusals, which may run on a first reader). Siblings: a lake, and a DuckDB file whose search
    reader loads fts (checked when a writer's load indexed the articles)."""
    from warehouse.db import connect_reader
    from warehouse.extensions import extension_path
    from warehouse.search import search_articles
    from warehouse.views import create_views

    lake, file = f"ducklake:sqlite:{tmp_path / 'lake.sqlite'}", tmp_path / "warehouse.duckdb"
    for location, extensions in ((lake, ()), (file, ("fts",))):
        with open_writer(location) as conn:
            load_batch(conn, seed_articles(seed_paths), [], "run-1")
        for _ in range(2):
            with connect_reader(location, extensions=extensions) as conn:
                shown = conn.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone()
                assert shown == (True,), location
                assert conn.execute("SELECT current_setting('autoload_known_extensions')").fetchone() == (False,)
                if extensions:
                    create_views(conn, temporary=True)
                    assert search_articles(conn, "roscosmos video").hits, location
                other = extension_path("sqlite_scanner" if extensions else "fts")  # one it has not loaded
                for statement in (f"LOAD '{other}'", "LOAD httpfs", "SET allow_unsigned_extensions = false"):
                    with pytest.raises(duckdb.Error):
                        conn.execute(statement)


def test_a_new_warehouse_gets_every_migration_or_none_an_old_one_each_in_turn(tmp_path, monkeypatch):
    """A new warehouse is migrated in one transaction (a new lake's 19 commits took 2.7 s): a failing migration
    leaves it empty, and the next writer starts again. An existing warehouse gets each missing migration in its
    own transaction, so one that fails keeps those before it. Siblings: a DuckDB file and a lake."""
    scripts = sorted(MIGRATIONS_DIR.glob("*.sql"))
    older, broken = tmp_path / "older", tmp_path / "broken"
    for folder, chosen in ((older, scripts[:-1]), (broken, scripts)):
        folder.mkdir()
        for script in chosen:
            (folder / script.name).write_text(script.read_text())
    (broken / "999_broken.sql").write_text("CREATE TABLE later (a INTEGER);\nSELECT nope FROM nowhere;")
    for location in (tmp_path / "new.duckdb", f"ducklake:sqlite:{tmp_path / 'new.sqlite'}"):
        monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", broken)
        with pytest.raises(duckdb.CatalogException, match="nowhere"), open_writer(location):
            pass
        with connect(location) as conn:
            tables = conn.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()")
            assert tables.fetchall() == [("schema_migrations",)], location
        monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", older)  # the next writer starts again
        with open_writer(location):
            pass
        monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", broken)
        with pytest.raises(duckdb.CatalogException, match="nowhere"), open_writer(location):
            pass
        with connect(location) as conn:
            versions = conn.execute("SELECT list(version ORDER BY version) FROM schema_migrations").fetchone()[0]
            assert versions == [script.stem for script in scripts], location  # the newest applied, not the broken
            assert conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'later'").fetchone() == (0,)
