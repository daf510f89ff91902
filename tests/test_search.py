"""Full-text search: BM25 over the seeds with the fts extension loaded from its pip package, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from mediamon.cli import main
from warehouse.db import connect, open_writer
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


def test_fts_extension_path_matches_duckdb():
    path = fts_extension_path()
    assert path.name == "fts.duckdb_extension" and path.parent.name == f"v{duckdb.__version__}"


def test_fts_extension_missing_says_what_to_install(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(SearchUnavailable, match=f"pip install duckdb-extension-fts=={duckdb.__version__}"):
        fts_extension_path()


def test_search_ranks_video_seeds_above_002(seeds_db, seed_ids):
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
    result = search(seeds_db, "roscosmos video")
    assert result.index == "stored" and result.note is None
    ranked = [hit.article_id for hit in result.hits]
    video = {seed_ids[n] for n in VIDEO_SEEDS}
    assert set(ranked[:4]) == video and ranked[4] == seed_ids["002"]
    top = result.hits[0]
    assert top.title and top.snippet and top.link.startswith("file://")
    assert any(word.lower().startswith(("roscosmo", "video")) for word in top.snippet.split())


def test_search_without_index_builds_one_in_memory_and_says_so(seeds_db, seed_ids):
    with connect(seeds_db, read_only=True) as conn:
        assert "no search index yet" in search_index_state(conn)
    result = search(seeds_db, "roscosmos video")
    assert result.index == "temporary" and "no search index yet" in result.note
    assert [h.article_id for h in result.hits][4] == seed_ids["002"]


def test_search_stale_index_is_not_used(seeds_db, seed_ids, tmp_path):
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
        conn.execute("DELETE FROM articles WHERE article_id = ?", [seed_ids["000"]])
    result = search(seeds_db, "roscosmos video")
    assert result.index == "temporary" and "out of date (5 articles indexed, 4 now" in result.note
    assert seed_ids["000"] not in {h.article_id for h in result.hits}


def test_search_refresh_follows_edits(seeds_db, seed_ids):
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
        conn.execute("UPDATE articles SET text = text || ' zeppelinology' WHERE article_id = ?", [seed_ids["002"]])
        refresh_search_index(conn)
    assert [h.article_id for h in search(seeds_db, "zeppelinology").hits] == [seed_ids["002"]]


def test_search_article_changed_after_refresh_is_found(seeds_db, seed_ids):
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
        conn.execute(  # what a re-ingest of an edited file does: new text, new ingested_at
            "UPDATE articles SET text = text || ' zeppelinology', ingested_at = now()::TIMESTAMP WHERE article_id = ?",
            [seed_ids["002"]],
        )
    result = search(seeds_db, "zeppelinology")
    assert result.index == "temporary" and "out of date" in result.note
    assert [h.article_id for h in result.hits] == [seed_ids["002"]]


def test_search_on_empty_warehouse_finds_nothing(empty_db):
    with open_writer(empty_db) as conn:
        refresh_search_index(conn)
    assert search(empty_db, "video").hits == []


def test_make_snippet_centres_first_match():
    text = "Intro words here. " * 20 + "Then the Roscosmos video appeared.\n\nMore text follows. " * 5
    snippet = make_snippet(text, ("roscosmo", "video"), before=30, after=60)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "Roscosmos video appeared" in snippet and "\n" not in snippet
    start, end = highlight_spans(snippet, ("roscosmo",))[0]
    assert snippet[start:end] == "Roscosmos"
    assert make_snippet("short text", ("absent",)) == "short text"


def test_cli_search_prints_ranked_hits(seeds_db, capsys):
    with open_writer(seeds_db) as conn:
        refresh_search_index(conn)
    assert main(["search", "roscosmos video", "--db", str(seeds_db), "--limit", "5"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    ranked = [line for line in lines if line[:2] in {f"{n}." for n in range(1, 6)}]
    assert len(ranked) == 5 and ranked[-1].startswith("5. In space, Russia is losing allies")
    assert "(unknown outlet) · ingested " in out and "score " in out and "file://" in out


def test_cli_search_notes_missing_index_and_bad_limit(seeds_db, capsys):
    assert main(["search", "roscosmos", "--db", str(seeds_db)]) == 0
    out, err = capsys.readouterr()
    assert "no search index yet" in err and "1. " in out
    assert main(["search", "roscosmos", "--db", str(seeds_db), "--limit", "0"]) == 1
    assert "--limit must be at least 1" in capsys.readouterr().err
    assert main(["search", "zzzqqq", "--db", str(seeds_db)]) == 0
    assert "no articles match 'zzzqqq'" in capsys.readouterr().out


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
