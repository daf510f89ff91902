"""Full-text search over articles: a BM25 index built with DuckDB's fts extension, loaded from the
`duckdb-extension-fts` wheel so it works offline (DuckDB would otherwise download the extension)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.db import on_lake
from warehouse.extensions import ExtensionMissing, extension_path
from warehouse.transaction import transaction

INDEX_SCHEMA = "fts_main_articles"
SNIPPET_BEFORE = 90
SNIPPET_AFTER = 180


class SearchUnavailable(ExtensionMissing):
    """The fts extension cannot be found in the installed packages."""


class BadSearch(ValueError):
    """The search cannot run as asked (no words, a limit under 1)."""


@dataclass(frozen=True)
class SearchHit:
    article_id: str
    score: float
    title: str | None
    outlet: str | None
    published_at: datetime | None
    first_ingested_at: datetime
    link: str
    snippet: str
    terms: tuple[str, ...]  # query stems, to highlight in the snippet


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    index: str  # "stored" (the warehouse's index) or "temporary" (built in memory for this query)
    note: str | None  # why the stored index was not used, when it was not


def fts_extension_path() -> Path:
    """The fts extension file shipped by the pip package matching the installed duckdb."""
    try:
        return extension_path("fts")
    except ExtensionMissing as exc:
        raise SearchUnavailable(str(exc)) from None


def load_fts(conn: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension from the local package (never from the network)."""
    path = str(fts_extension_path()).replace("'", "''")
    conn.execute(f"LOAD '{path}'")


def refresh_search_index(conn: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the BM25 index over articles' title and text (the fts index does not follow later writes).

    Call on a writing connection after loading; the rebuild is one transaction, so a failure keeps the old index.
    A DuckLake warehouse keeps no index (DuckLake cannot store the index's tables): searches build one in memory.
    """
    if on_lake(conn):
        return
    load_fts(conn)
    with transaction(conn):
        conn.execute("PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', overwrite=1)")
        # What the index covers, to tell later whether articles changed since (dropped with the index).
        conn.execute(
            f"""CREATE TABLE {INDEX_SCHEMA}.coverage AS
                SELECT count(*) AS articles, max(ingested_at) AS last_ingested_at FROM articles"""
        )


def search_index_state(conn: duckdb.DuckDBPyConnection) -> str | None:
    """None when the stored index covers the current articles, else why it cannot be used.

    Current means: the same article ids, and no article loaded or changed (ingested_at) since the index was built.
    """
    if on_lake(conn):
        return "a DuckLake warehouse keeps no search index"
    tables = {
        name
        for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND database_name = current_database()",
            [INDEX_SCHEMA],
        ).fetchall()
    }
    if "docs" not in tables:
        return "the warehouse has no search index yet (it is built at the end of each ingest run)"
    articles, newest, missing = conn.execute(
        f"""SELECT count(*), max(ingested_at),
                   (SELECT count(*) FROM articles a ANTI JOIN {INDEX_SCHEMA}.docs d ON d.name = a.article_id)
            FROM articles"""
    ).fetchone()
    indexed, indexed_newest = (
        conn.execute(f"SELECT articles, last_ingested_at FROM {INDEX_SCHEMA}.coverage").fetchone()
        if "coverage" in tables
        else (None, None)
    )
    if missing or articles != indexed or newest != indexed_newest:
        return (
            f"the warehouse's search index is out of date ({indexed if indexed is not None else '?'} articles"
            f" indexed, {articles} now, or some changed since)"
        )
    return None


def search_articles(conn: duckdb.DuckDBPyConnection, query: str, limit: int = 10) -> SearchResult:
    """Articles ranked by BM25 over title and text (English Porter stemming and stopwords, case and accents
    folded); needs the rpt_ views (`create_views(conn, temporary=True)` on a read-only connection).

    Uses the warehouse's stored index; when there is none yet, or it misses articles, the index is built in
    memory for this query from a copy of the articles (slower, but right), and `note` says why. Works on a
    read-only connection.
    """
    if not query.strip():
        raise BadSearch("empty search: give words to look for")
    if limit < 1:
        raise BadSearch(f"--limit must be at least 1, got {limit}")
    load_fts(conn)
    note = search_index_state(conn)
    if note is None:
        scores, stems = _scores(conn, query), _stems(conn, query)
        return SearchResult(_hits(conn, scores, stems, limit), "stored", None)
    scratch = duckdb.connect()
    try:
        load_fts(scratch)
        scratch.register("copied", conn.sql("SELECT article_id, title, text FROM articles").to_arrow_table())
        scratch.execute("CREATE TABLE articles AS SELECT * FROM copied")
        scratch.unregister("copied")
        scratch.execute("PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', overwrite=1)")
        scores, stems = _scores(scratch, query), _stems(scratch, query)
    finally:
        scratch.close()
    return SearchResult(_hits(conn, scores, stems, limit), "temporary", note)


def _scores(index_conn: duckdb.DuckDBPyConnection, query: str):
    """(article_id, score) of every article the query matches, as an Arrow table."""
    return index_conn.sql(
        f"""SELECT article_id, score FROM (
                SELECT article_id, {INDEX_SCHEMA}.match_bm25(article_id, ?) AS score FROM articles)
            WHERE score IS NOT NULL""",
        params=[query],
    ).to_arrow_table()


def _stems(index_conn: duckdb.DuckDBPyConnection, query: str) -> tuple[str, ...]:
    """The query's words as the index sees them (Porter stems, stopwords left out), longest first."""
    words = re.findall(r"\w+", query.lower())
    if not words:
        return ()
    rows = index_conn.execute(
        f"""SELECT DISTINCT stem(w, 'porter') FROM unnest(?::VARCHAR[]) AS t(w)
            WHERE w NOT IN (SELECT sw FROM {INDEX_SCHEMA}.stopwords)""",
        [words],
    ).fetchall()
    return tuple(sorted({row[0] for row in rows if row[0]}, key=lambda stem: (-len(stem), stem)))


def _hits(conn: duckdb.DuckDBPyConnection, scores, stems: tuple[str, ...], limit: int) -> list[SearchHit]:
    conn.register("search_scores", scores)
    try:
        rows = conn.execute(
            """SELECT a.article_id, s.score, a.title, r.outlet, a.published_at, a.first_ingested_at, r.link, a.text
               FROM search_scores s
               JOIN articles a USING (article_id)
               JOIN rpt_articles r USING (article_id)
               ORDER BY s.score DESC, a.article_id
               LIMIT ?""",
            [limit],
        ).fetchall()
    finally:
        conn.unregister("search_scores")
    return [
        SearchHit(article_id, score, title, outlet, published, ingested, link, make_snippet(text, stems), stems)
        for article_id, score, title, outlet, published, ingested, link, text in rows
    ]


def _stem_pattern(stems: tuple[str, ...]) -> re.Pattern | None:
    if not stems:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in stems) + r")\w*", re.IGNORECASE)


def make_snippet(text: str, stems: tuple[str, ...], before: int = SNIPPET_BEFORE, after: int = SNIPPET_AFTER) -> str:
    """The text around the first word starting with a query stem, on one line, cut at word boundaries."""
    flat = " ".join(text.split())
    pattern = _stem_pattern(stems)
    match = pattern.search(flat) if pattern else None
    start = match.start() if match else 0
    lo, hi = max(0, start - before), min(len(flat), start + after)
    if lo > 0:
        space = flat.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(flat):
        space = flat.rfind(" ", start, hi)
        hi = space if space > start else hi
    return ("…" if lo > 0 else "") + flat[lo:hi] + ("…" if hi < len(flat) else "")


def highlight_spans(snippet: str, stems: tuple[str, ...]) -> list[tuple[int, int]]:
    """Character spans of the words in `snippet` that match the query, for the CLI to emphasise."""
    pattern = _stem_pattern(stems)
    return [match.span() for match in pattern.finditer(snippet)] if pattern else []
