"""Warehouses for the reporting tests (test modules load them with `pytest_plugins`): the seeds alone, and
the seeds plus hand-made web articles with copies, stories, monitors, rejects, runs and fetches set by SQL,
so every rpt_ view has known rows.

The hand-made warehouse, by coverage day (publication date, else first ingest):
  2022-03-30  H1 Space News (en), canonical, story iss-video
  2022-03-31  the five seeds (first ingested that day, no outlet, en; 003 and 004 in story iss-video)
              H2 orbit-daily.example (en), copy of H1
  2022-04-01  nothing
  2022-04-02  H3 Wire Service (en), copy of H1; H4 Space News (de), its own story;
              H5 orbit-daily.example (no publication date, first ingested that day, no language), copy of seed 004
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import pytest

from extractors import Article, Reject, extract_document
from tests.conftest import SEEDS_DIR
from warehouse.db import open_writer
from warehouse.load import RejectedDocument, load_batch

SEED_DAY = datetime(2022, 3, 31, 12, 0)


def seed_articles() -> list[Article]:
    return [extract_document(p.read_bytes(), p.as_uri(), "text") for p in sorted(SEEDS_DIR.glob("*.txt"))]


def seed_id(prefix: str) -> str:
    """article_id of the seed whose file name starts with `prefix` ("000" ... "004")."""
    (path,) = SEEDS_DIR.glob(f"{prefix}_*.txt")
    return next(a.article_id for a in seed_articles() if a.source_uri == path.as_uri())


def load_seeds(db: Path, run_id: str = "run-seeds") -> None:
    with open_writer(db) as conn:
        load_batch(conn, seed_articles(), [], run_id)


def _web_article(uri: str, title: str, text: str, **fields) -> Article:
    article = extract_document(f"{title}\n\n{text}".encode(), uri, "text")
    assert isinstance(article, Article), article
    return dataclasses.replace(article, **fields)


VIDEO_TEXT = (
    "Roscosmos released a video showing the Russian segment of the International Space Station undocking "
    "and drifting away from the rest of the station, set to upbeat music. The agency's director shared the "
    "clip after new sanctions were announced. Analysts said the video was a political message rather than a "
    "plan, since the segment depends on power from the American side of the station."
)
HAND_MADE = {
    "H1": _web_article(
        "https://www.space-news.example/iss-video",
        "Roscosmos video shows Russian segment leaving the ISS",
        VIDEO_TEXT,
        site_name="Space News",
        published_at=datetime(2022, 3, 30, 9, 0),
        language="en",
        language_probability=0.99,
    ),
    "H2": _web_article(
        "https://orbit-daily.example/2022/03/31/iss",
        "Roscosmos video shows Russian segment leaving the ISS",
        VIDEO_TEXT + " Orbit Daily republished this report.",
        url="https://orbit-daily.example/iss-video",
        published_at=datetime(2022, 3, 31, 10, 0),
        language="en",
        language_probability=0.99,
    ),
    "H3": _web_article(
        "https://wire.example/x",
        "Russian space agency video shows station split",
        VIDEO_TEXT + " Wire Service carried this report.",
        site_name="Wire Service",
        published_at=datetime(2022, 4, 2, 8, 0),
        language="en",
        language_probability=0.98,
    ),
    "H4": _web_article(
        "https://space-news.example/de/iss",
        "Roskosmos zeigt Video vom Abschied",
        "Die russische Raumfahrtbehörde hat ein Video veröffentlicht, das den russischen Teil der Internationalen "
        "Raumstation zeigt, wie er sich vom Rest der Station löst. Fachleute halten das für eine politische "
        "Botschaft.",
        site_name="Space News",
        published_at=datetime(2022, 4, 2, 15, 0),
        language="de",
        language_probability=0.99,
    ),
    "H5": _web_article(
        "https://orbit-daily.example/undated",
        "Station split video",
        "A short item about the station split video, reprinted from elsewhere without a date.",
        language=None,
        language_probability=None,
    ),
}
REJECTS = [
    RejectedDocument("https://www.space-news.example/gone", "fetch", Reject("http_404", "HTTP 404")),
    RejectedDocument("https://space-news.example/old", "fetch", Reject("http_404", "HTTP 404")),
    RejectedDocument("https://wire.example/slow", "fetch", Reject("timeout", "read timeout")),
    RejectedDocument("file:///data/broken.bin", "read", Reject("binary", "NUL bytes")),
    RejectedDocument("file:///data/empty.txt", "read", Reject("empty", "0 bytes")),
]
RUNS = [  # run_id, source_name, status, started_at, finished_at, seen, loaded, rejected
    ("r1", None, "completed", datetime(2022, 3, 31, 11, 59, 58), datetime(2022, 3, 31, 12, 0, 3), 5, 5, 0),
    ("r2", "space-news", "completed", datetime(2022, 4, 2, 8, 0), datetime(2022, 4, 2, 8, 0, 30), 9, 5, 3),
    ("r3", "space-news", "failed", datetime(2022, 4, 3, 8, 0), datetime(2022, 4, 3, 8, 0, 2), 0, 0, 0),
    ("r4", "orbit", "running", datetime(2022, 4, 3, 9, 0), None, 0, 0, 0),
]


def build_reporting_db(db: Path) -> dict[str, str]:
    """Load the seeds and the hand-made articles, then set what the views group by; returns name -> id."""
    ids = {name: article.article_id for name, article in HAND_MADE.items()}
    ids.update({f"seed{n}": seed_id(n) for n in ("000", "001", "002", "003", "004")})
    load_seeds(db)
    with open_writer(db) as conn:
        load_batch(conn, list(HAND_MADE.values()), REJECTS, "r2")
        conn.execute("UPDATE articles SET duplicate_of = NULL, story_id = NULL")
        conn.execute(
            "UPDATE articles SET first_ingested_at = ?, ingested_at = ? WHERE source_uri LIKE 'file:%'",
            [SEED_DAY, SEED_DAY],
        )
        conn.execute(
            "UPDATE articles SET first_ingested_at = ?, ingested_at = ? WHERE article_id = ?",
            [datetime(2022, 4, 2, 18, 0), datetime(2022, 4, 2, 18, 0), ids["H5"]],
        )
        for copy, original in (("H2", "H1"), ("H3", "H1"), ("H5", "seed004")):
            conn.execute("UPDATE articles SET duplicate_of = ? WHERE article_id = ?", [ids[original], ids[copy]])
        story = [ids[n] for n in ("H1", "H2", "H3", "H5", "seed003", "seed004")]
        conn.execute("UPDATE articles SET story_id = 'iss-video' WHERE list_contains(?, article_id)", [story])
        conn.execute('UPDATE rejects SET "at" = ?', [datetime(2022, 4, 2, 8, 0, 10)])
        conn.executemany(
            "INSERT INTO monitors VALUES (?, ?)",
            [["iss-video", "roscosmos AND video"], ["sanctions", "sanctions"], ["unused", "nothing"]],
        )
        matches = [("iss-video", ids[n]) for n in ("H1", "seed003", "seed004", "H3")]
        matches += [("sanctions", ids["seed000"]), ("sanctions", ids["seed002"]), ("sanctions", "ffffffffffffffff")]
        conn.executemany("INSERT INTO monitor_matches VALUES (?, ?)", [list(m) for m in matches])
        conn.execute(  # as the monitor step records them (warehouse/monitors.py)
            """INSERT INTO monitor_first_matches
               SELECT monitor, article_id, 'fixture', TIMESTAMP '2022-04-01' FROM monitor_matches"""
        )
        conn.execute("DELETE FROM runs")
        for run_id, source, status, started, finished, seen, loaded, rejected in RUNS:
            parameters = json.dumps({"paths": [] if source else ["seeds"], "source_name": source})
            conn.execute(
                """INSERT INTO runs (run_id, flow_name, started_at, finished_at, status, parameters, seen, loaded,
                                     rejected) VALUES (?, 'ingest', ?, ?, ?, ?, ?, ?, ?)""",
                [run_id, started, finished, status, parameters, seen, loaded, rejected],
            )
        conn.execute(
            """INSERT INTO fetches (url, final_url, status, fetched_at, source_name, run_id)
               VALUES ('https://wire.example/feed.xml', 'https://wire.example/feed.xml', 200, ?, 'wire-feed', 'r9')""",
            [datetime(2022, 4, 2, 7, 0)],
        )
    return ids


@pytest.fixture
def seeds_db(tmp_path) -> Path:
    """A warehouse holding only the seeds, with one completed run."""
    db = tmp_path / "seeds.duckdb"
    load_seeds(db, "r1")
    with open_writer(db) as conn:
        conn.execute(
            """INSERT INTO runs (run_id, flow_name, started_at, finished_at, status, parameters, seen, loaded)
               VALUES ('r1', 'ingest', now()::TIMESTAMP - INTERVAL 3 SECOND, now()::TIMESTAMP, 'completed',
                       '{"paths": ["seeds"], "source_name": null}', 5, 5)"""
        )
    return db


@pytest.fixture
def reporting_db(tmp_path) -> tuple[Path, dict[str, str]]:
    """The seeds plus the hand-made articles above, and the ids of each by name (H1..H5, seed000..seed004)."""
    db = tmp_path / "reporting.duckdb"
    return db, build_reporting_db(db)


@pytest.fixture(scope="module", params=["file", "ducklake"])
def reporting_warehouse(request, tmp_path_factory) -> tuple[str, dict[str, str]]:
    """The same, in a DuckDB file and in a DuckLake catalog (the views must give the same rows from both). Built
    once per module and backend: the tests given it only read it (a lake takes seconds to build)."""
    folder = tmp_path_factory.mktemp(f"reporting-{request.param}")
    db = str(folder / "reporting.duckdb") if request.param == "file" else f"ducklake:sqlite:{folder}/reporting.sqlite"
    return db, build_reporting_db(db)


@pytest.fixture
def seed_ids() -> dict[str, str]:
    """article_id of each seed by its file-name prefix ("000" ... "004")."""
    return {prefix: seed_id(prefix) for prefix in ("000", "001", "002", "003", "004")}


@pytest.fixture
def seed_day() -> datetime:
    """When the reporting warehouse's seeds were first ingested (they have no publication date)."""
    return SEED_DAY


@pytest.fixture
def empty_db(tmp_path) -> Path:
    """A migrated warehouse with nothing loaded."""
    db = tmp_path / "empty.duckdb"
    with open_writer(db):
        pass
    return db
