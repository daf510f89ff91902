"""Reporting views: each rpt_ view on the seeds plus hand-made articles (in a DuckDB file and in a DuckLake
catalog: the same rows from both), on an empty warehouse, and their upkeep."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import pytest

from warehouse.checks import run_data_checks
from warehouse.db import connect, open_writer
from warehouse.views import VIEWS_DIR, create_views, view_names

# fixtures: seeds_db, reporting_warehouse (file and DuckLake), empty_db, seed_ids, seed_day
pytest_plugins = ["tests.reporting_fixtures"]
pytestmark = pytest.mark.warehouse

VIEWS = [
    "rpt_articles",
    "rpt_daily_coverage",
    "rpt_ingest_health",
    "rpt_languages",
    "rpt_media",
    "rpt_monitor_matches",
    "rpt_outlets",
    "rpt_runs",
    "rpt_stories",
    "rpt_summary",
    "rpt_syndication",
]


def rows(db, sql: str) -> list[tuple]:
    with connect(db, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_views_one_file_each_with_ctes():
    assert view_names() == VIEWS  # file-name order is creation order: rpt_articles, the base, first
    for name in VIEWS:
        sql = (VIEWS_DIR / f"{name}.sql").read_text(encoding="utf-8").lower()
        assert sql.startswith("--"), f"{name}: starts with a comment saying what it is"
        assert "final as" in sql and ("source as" in sql or "_source as" in sql) and "cleaned" in sql, name


def test_views_created_by_migrate_on_empty_warehouse(empty_db):
    with duckdb.connect(str(empty_db), read_only=True) as conn:
        stored = conn.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name").fetchall()
        assert [name for (name,) in stored] == VIEWS
        for name in VIEWS:
            expected = 1 if name == "rpt_summary" else 0  # the totals are one row, of zeros
            assert conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == expected, name


def test_views_follow_their_files_on_next_migrate(tmp_path, monkeypatch, empty_db):
    views = tmp_path / "views"
    shutil.copytree(VIEWS_DIR, views)
    (views / "rpt_runs.sql").write_text("SELECT 'edited' AS marker", encoding="utf-8")
    (views / "rpt_syndication.sql").unlink()
    monkeypatch.setattr("warehouse.views.VIEWS_DIR", views)
    with open_writer(empty_db) as conn:
        assert conn.execute("SELECT marker FROM rpt_runs").fetchall() == [("edited",)]
        names = conn.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert ("rpt_syndication",) not in names  # a view whose file is gone is dropped


def test_views_broken_file_names_the_view_and_keeps_the_old_ones(tmp_path, monkeypatch, empty_db):
    views = tmp_path / "views"
    shutil.copytree(VIEWS_DIR, views)
    (views / "rpt_runs.sql").write_text("SELECT nope FROM runs", encoding="utf-8")
    monkeypatch.setattr("warehouse.views.VIEWS_DIR", views)
    with pytest.raises(duckdb.BinderException, match="rpt_runs.sql"):
        with open_writer(empty_db):
            pass
    assert rows(empty_db, "SELECT count(*) FROM rpt_runs") == [(0,)]  # the transaction kept the old views


def test_views_as_temporary_on_read_only_connection(empty_db):
    """A warehouse no writer of this version has opened yet (no stored views) still reports."""
    with duckdb.connect(str(empty_db)) as conn:
        for name in VIEWS[::-1]:
            conn.execute(f"DROP VIEW {name}")
    with connect(empty_db, read_only=True) as conn:
        assert create_views(conn, temporary=True) == VIEWS
        temporary = conn.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchone()
        assert temporary[0] == len(VIEWS)
        assert conn.execute("SELECT count(*) FROM rpt_daily_coverage").fetchone()[0] == 0


def test_reporting_fixture_passes_data_checks(reporting_warehouse):
    db, _ = reporting_warehouse
    with connect(db, read_only=True) as conn:
        assert run_data_checks(conn) == {}
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 10


def test_rpt_articles_outlet_day_and_story(reporting_warehouse, seed_day):
    db, ids = reporting_warehouse
    got = {
        r[0]: r[1:] for r in rows(db, "SELECT article_id, outlet, day, canonical_id, story_key, link FROM rpt_articles")
    }
    assert len(got) == 10
    assert got[ids["H1"]] == (
        "Space News",
        date(2022, 3, 30),
        ids["H1"],
        "iss-video",
        "https://www.space-news.example/iss-video",
    )
    # no site name: the host of the canonical URL, without www.
    assert got[ids["H2"]][:4] == ("orbit-daily.example", date(2022, 3, 31), ids["H1"], "iss-video")
    assert got[ids["H2"]][4] == "https://orbit-daily.example/iss-video"
    assert got[ids["H5"]][:2] == ("orbit-daily.example", date(2022, 4, 2))  # no date: first ingested
    # a local file without a site name: the label rpt_outlets groups it under
    assert got[ids["seed001"]][:4] == ("(unknown)", seed_day.date(), ids["seed001"], ids["seed001"])


def test_rpt_daily_coverage(reporting_warehouse):
    db, _ = reporting_warehouse
    assert rows(db, "SELECT * FROM rpt_daily_coverage") == [
        # day, articles, unique_stories, copies, outlets, languages, language_codes
        (date(2022, 3, 30), 1, 1, 0, 1, 1, "en"),
        (date(2022, 3, 31), 6, 4, 1, 1, 1, "en"),  # seeds 000, 001, 002 and the iss-video story
        (date(2022, 4, 1), 0, 0, 0, 0, 0, None),  # a day without articles is listed
        (date(2022, 4, 2), 3, 2, 2, 3, 2, "de, en"),
    ]


def test_rpt_outlets(reporting_warehouse, seed_day):
    db, _ = reporting_warehouse
    assert rows(db, "SELECT * FROM rpt_outlets") == [
        # outlet, articles, unique_stories, originals, copies, language_codes, first_seen, last_seen, share
        ("(unknown)", 5, 4, 5, 0, "en", seed_day, seed_day, 0.5),
        ("Space News", 2, 2, 2, 0, "de, en", datetime(2022, 3, 30, 9), datetime(2022, 4, 2, 15), 0.2),
        ("orbit-daily.example", 2, 1, 0, 2, "en", datetime(2022, 3, 31, 10), datetime(2022, 4, 2, 18), 0.2),
        ("Wire Service", 1, 1, 0, 1, "en", datetime(2022, 4, 2, 8), datetime(2022, 4, 2, 8), 0.1),
    ]


def test_rpt_syndication(reporting_warehouse, seed_day):
    db, ids = reporting_warehouse
    got = rows(
        db,
        """SELECT article_id, outlet, pickups, pickup_outlets, pickup_outlet_names, first_seen, last_seen
           FROM rpt_syndication""",
    )
    assert len(got) == 7  # every canonical article: five seeds, H1 and H4
    assert got[0] == (
        ids["H1"],
        "Space News",
        2,
        2,
        "Wire Service, orbit-daily.example",
        datetime(2022, 3, 30, 9),
        datetime(2022, 4, 2, 8),
    )
    assert got[1] == (ids["seed004"], "(unknown)", 1, 1, "orbit-daily.example", seed_day, datetime(2022, 4, 2, 18))
    assert {r[0] for r in got[2:]} == {ids[n] for n in ("seed000", "seed001", "seed002", "seed003", "H4")}
    assert all(r[2:5] == (0, 0, None) and r[5] == r[6] for r in got[2:])
    assert not {ids["H2"], ids["H3"], ids["H5"]} & {r[0] for r in got}  # copies are not canonical


def test_rpt_stories(reporting_warehouse, seed_day):
    db, ids = reporting_warehouse
    got = rows(
        db,
        """SELECT story_key, label, articles, originals, pickups, outlets, outlet_names, first_seen, last_seen,
                  first_article FROM rpt_stories""",
    )
    assert got[0] == (
        "iss-video",
        "Roscosmos video shows Russian segment leaving the ISS",  # the first-seen titled original: H1
        6,
        3,
        3,
        4,
        "(unknown), Space News, Wire Service, orbit-daily.example",
        datetime(2022, 3, 30, 9),
        datetime(2022, 4, 2, 18),
        ids["H1"],
    )
    # then one story per other canonical article, by articles, pickups, first seen, story_key
    assert [r[0] for r in got[1:]] == sorted([ids[n] for n in ("seed000", "seed001", "seed002")]) + [ids["H4"]]
    assert all(r[2:6] == (1, 1, 0, 1) for r in got[1:])
    untitled = next(r for r in got if r[0] == ids["seed001"])  # no title: the start of its text
    assert untitled[1].startswith("Russian state-affiliated media") and untitled[1].endswith("…")
    assert len(untitled[1]) == 81 and untitled[7] == untitled[8] == seed_day


def test_rpt_languages(reporting_warehouse):
    db, _ = reporting_warehouse
    assert rows(db, "SELECT * FROM rpt_languages") == [("en", 8), ("de", 1), (None, 1)]  # NULL: undetected


def test_rpt_summary(reporting_warehouse, empty_db):
    db, _ = reporting_warehouse
    # articles, stories, outlets, unknown_outlet, languages, copies, first_day, last_day, rejects
    assert rows(db, "SELECT * FROM rpt_summary") == [(10, 5, 4, 5, 2, 3, date(2022, 3, 30), date(2022, 4, 2), 5)]
    assert rows(empty_db, "SELECT * FROM rpt_summary") == [(0, 0, 0, 0, 0, 0, None, None, 0)]


def test_rpt_monitor_matches(reporting_warehouse):
    db, _ = reporting_warehouse
    assert rows(db, "SELECT * FROM rpt_monitor_matches") == [
        # monitor, query, day, articles, unique_stories, outlets; the match of a missing article is left out
        ("iss-video", "roscosmos AND video", date(2022, 3, 30), 1, 1, 1),
        ("iss-video", "roscosmos AND video", date(2022, 3, 31), 2, 1, 0),
        ("iss-video", "roscosmos AND video", date(2022, 4, 2), 1, 1, 1),
        ("sanctions", "sanctions", date(2022, 3, 31), 2, 2, 0),
    ]


def test_rpt_runs(reporting_warehouse):
    db, _ = reporting_warehouse
    assert rows(db, "SELECT run_id, source_name, status, duration_seconds, seen, loaded, rejected FROM rpt_runs") == [
        ("r4", "orbit", "running", None, 0, 0, 0),
        ("r3", "space-news", "failed", 2.0, 0, 0, 0),
        ("r2", "space-news", "completed", 30.0, 9, 5, 3),
        ("r1", None, "completed", 5.0, 5, 5, 0),
    ]


def test_rpt_ingest_health(reporting_warehouse):
    db, _ = reporting_warehouse
    got = rows(
        db, "SELECT kind, stage, reason, host, source_name, n, last_at, last_run_id, last_status FROM rpt_ingest_health"
    )
    at = datetime(2022, 4, 2, 8, 0, 10)
    assert got == [
        ("reject", "fetch", "http_404", None, None, 2, at, "r2", None),
        ("reject", "fetch", "timeout", None, None, 1, at, "r2", None),
        ("reject", "read", "binary", None, None, 1, at, "r2", None),
        ("reject", "read", "empty", None, None, 1, at, "r2", None),
        ("fetch_error", "fetch", "http_404", "space-news.example", None, 2, at, "r2", None),  # www. folded
        ("fetch_error", "fetch", "timeout", "wire.example", None, 1, at, "r2", None),
        # last success per source, and how its latest run went
        ("source", None, None, None, "(direct)", 1, datetime(2022, 3, 31, 12, 0, 3), "r1", "completed"),
        ("source", None, None, None, "space-news", 1, datetime(2022, 4, 2, 8, 0, 30), "r2", "failed"),
        ("source", None, None, None, "orbit", 0, None, None, "running"),
        ("source", None, None, None, "wire-feed", 0, None, None, None),  # known only from fetches
    ]
