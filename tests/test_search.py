"""Full-text search: the BM25 index each load keeps current, its stemmer loaded from the fts pip package, offline."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extractors import extract_document
from mediamon.cli import main
from warehouse.db import connect, open_writer
from warehouse.load import load_batch
from warehouse.search import (
    SearchUnavailable,
    fts_extension_path,
    highlight_spans,
    make_snippet,
    refresh_search_index,
    search_articles,
    search_index_state,
)
from warehouse.views import create_views

pytest_plugins = ["tests.reporting_fixtures"]  # fixtures: seeds_db, reporting_db, empty_db, seed_ids, seed_day

MEDIAMON = Path(sys.executable).parent / "mediamon"
VIDEO_SEEDS = {"000", "001", "003", "004"}  # 002 is about Russia losing allies, not about the video


def search(db: Path, query: str, limit: int = 10):
    with connect(db, read_only=True) as conn:
        create_views(conn, temporary=True)
        return search_articles(conn, query, limit)


@pytest.mark.pure
def test_fts_extension_path_matches_duckdb():
    path = fts_extension_path()
    assert path.name == "fts.duckdb_extension" and path.parent.name == f"v{duckdb.__version__}"


@pytest.mark.pure
def test_fts_extension_missing_says_what_to_install(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(SearchUnavailable, match=f"pip install duckdb-extension-fts=={duckdb.__version__}"):
        fts_extension_path()


def hit_ids(db: Path, query: str) -> list[str]:
    return [hit.article_id for hit in search(db, query).hits]


def index_rows(db: Path) -> tuple[int, int]:
    with connect(db, read_only=True) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM search.documents), (SELECT count(*) FROM search.postings)"
        ).fetchone()


@pytest.mark.warehouse
def test_search_ranks_video_seeds_above_002(seeds_db, seed_ids):
    result = search(seeds_db, "roscosmos video")
    assert result.index == "stored" and result.note is None  # the load indexed the seeds
    ranked = [hit.article_id for hit in result.hits]
    video = {seed_ids[n] for n in VIDEO_SEEDS}
    assert set(ranked[:4]) == video and ranked[4] == seed_ids["002"]
    top = result.hits[0]
    assert top.title and top.snippet and top.link.startswith("file://")
    assert any(word.lower().startswith(("roscosmo", "video")) for word in top.snippet.split())


@pytest.mark.warehouse
def test_loading_again_leaves_the_index_as_it_was(seeds_db):
    from tests.reporting_fixtures import load_seeds  # a plugin of this module: imported once it is registered

    before = index_rows(seeds_db)
    assert before[0] == 5 and before[1] > 500
    load_seeds(seeds_db, "run-again")
    assert index_rows(seeds_db) == before


@pytest.mark.warehouse
def test_a_reloaded_edit_replaces_the_article_in_the_index(seeds_db, seed_ids):
    from tests.reporting_fixtures import seed_articles

    (seed,) = [a for a in seed_articles() if a.article_id == seed_ids["002"]]
    edited = dataclasses.replace(
        seed, title=seed.title.replace("Russia", "Zeppelinia"), text=seed.text.replace("Russia", "Zeppelinia")
    )
    with open_writer(seeds_db) as conn:
        load_batch(conn, [edited], [], "run-edit")
    assert hit_ids(seeds_db, "zeppelinia") == [seed_ids["002"]]
    assert seed_ids["002"] not in hit_ids(seeds_db, "russia")
    assert index_rows(seeds_db)[0] == 5


@pytest.mark.warehouse
def test_search_indexes_in_memory_what_the_index_misses_and_the_ingest_catches_up(seeds_db, seed_ids):
    stored = search(seeds_db, "roscosmos video")
    with open_writer(seeds_db) as conn:  # as in a warehouse loaded before the index existed
        conn.execute("DELETE FROM search.postings")
        conn.execute("DELETE FROM search.documents")
        assert search_index_state(conn).startswith("5 of 5 articles are not in the search index yet")
    temporary = search(seeds_db, "roscosmos video")
    assert temporary.index == "temporary" and "5 of 5 articles" in temporary.note
    assert [(h.article_id, round(h.score, 9)) for h in temporary.hits] == [
        (h.article_id, round(h.score, 9)) for h in stored.hits
    ]
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
        assert search_index_state(conn) is None
    assert search(seeds_db, "roscosmos video") == stored


@pytest.mark.warehouse
def test_search_of_a_warehouse_from_before_the_index(seeds_db, seed_ids):
    with open_writer(seeds_db) as conn:
        conn.execute("DROP SCHEMA search CASCADE")
        conn.execute("DELETE FROM schema_migrations WHERE version = '007_search_index'")
    result = search(seeds_db, "roscosmos video")  # read-only: not migrated
    assert result.index == "temporary" and "no search index yet" in result.note
    assert [h.article_id for h in result.hits][4] == seed_ids["002"]
    with open_writer(seeds_db) as conn:  # a writer migrates; the ingest's catch-up indexes
        refresh_search_index(conn)
    assert search(seeds_db, "roscosmos video").index == "stored"


@pytest.mark.warehouse
def test_search_skips_deleted_articles_and_sees_edits_that_bump_ingested_at(seeds_db, seed_ids):
    with open_writer(seeds_db) as conn:
        conn.execute("DELETE FROM articles WHERE article_id = ?", [seed_ids["000"]])
        conn.execute(
            "UPDATE articles SET text = text || ' zeppelinology', ingested_at = now()::TIMESTAMP WHERE article_id = ?",
            [seed_ids["002"]],
        )
    result = search(seeds_db, "zeppelinology roscosmos")
    assert result.index == "temporary" and "1 of 4 articles" in result.note
    assert result.hits[0].article_id == seed_ids["002"] and seed_ids["000"] not in {h.article_id for h in result.hits}
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
    assert index_rows(seeds_db)[0] == 4
    assert hit_ids(seeds_db, "zeppelinology") == [seed_ids["002"]]


@pytest.mark.warehouse
def test_words_in_any_script_and_numbers_are_searchable(empty_db):
    text = "Модуль отстыковался\n\nРоссийский модуль отстыковался от станции в 2022 году."
    article = extract_document(text.encode(), "file:///ru.txt", "text")
    with open_writer(empty_db) as conn:
        load_batch(conn, [article], [], "run-ru")
    assert hit_ids(empty_db, "станции") == hit_ids(empty_db, "2022") == [article.article_id]
    assert hit_ids(empty_db, "the of and") == []  # stop words only


@pytest.mark.warehouse
def test_search_on_empty_warehouse_finds_nothing(empty_db):
    with open_writer(empty_db) as conn:
        refresh_search_index(conn)
    assert search(empty_db, "video").hits == []


@pytest.mark.pure
def test_make_snippet_centres_first_match():
    text = "Intro words here. " * 20 + "Then the Roscosmos video appeared.\n\nMore text follows. " * 5
    snippet = make_snippet(text, ("roscosmo", "video"), before=30, after=60)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "Roscosmos video appeared" in snippet and "\n" not in snippet
    start, end = highlight_spans(snippet, ("roscosmo",))[0]
    assert snippet[start:end] == "Roscosmos"
    assert make_snippet("short text", ("absent",)) == "short text"


@pytest.mark.warehouse
def test_cli_search_prints_ranked_hits(seeds_db, capsys):
    assert main(["search", "roscosmos video", "--db", str(seeds_db), "--limit", "5"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    ranked = [line for line in lines if line[:2] in {f"{n}." for n in range(1, 6)}]
    assert len(ranked) == 5 and ranked[-1].startswith("5. In space, Russia is losing allies")
    assert "(unknown) · ingested " in out and "score " in out and "file://" in out


@pytest.mark.warehouse
def test_cli_search_notes_missing_index_and_bad_limit(seeds_db, capsys):
    with open_writer(seeds_db) as conn:
        conn.execute("DELETE FROM search.documents")
    assert main(["search", "roscosmos", "--db", str(seeds_db)]) == 0
    out, err = capsys.readouterr()
    assert "5 of 5 articles are not in the search index yet" in err and "indexed in memory" in err and "1. " in out
    assert main(["search", "roscosmos", "--db", str(seeds_db), "--limit", "0"]) == 1
    assert "--limit must be at least 1" in capsys.readouterr().err
    assert main(["search", "zzzqqq", "--db", str(seeds_db)]) == 0
    assert "no articles match 'zzzqqq'" in capsys.readouterr().out


@pytest.mark.e2e
def test_cli_search_works_offline(seeds_db, tmp_path):
    """A fresh HOME (no cached extensions) and proxies pointing nowhere: the extension comes from the wheel."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [str(MEDIAMON), "search", "roscosmos video", "--db", str(seeds_db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1. ") and "5. In space, Russia is losing allies" in done.stdout
    assert not (home / ".duckdb").exists()  # nothing was installed or downloaded
