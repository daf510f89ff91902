"""Full-text search over articles: a BM25 index in two plain tables, `search.documents` and `search.postings`,
that each batch load updates in its own transaction, so the index follows every load at the cost of the new
articles only, on a DuckDB file and on DuckLake alike. Words are stemmed with the Porter stemmer of DuckDB's
fts extension, loaded from the `duckdb-extension-fts` wheel so it works offline (DuckDB would otherwise
download the extension)."""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.extensions import ExtensionMissing, extension_path, load_extension_file
from warehouse.staging import registered
from warehouse.transaction import transaction

SNIPPET_BEFORE = 90
SNIPPET_AFTER = 180
K1, B = 1.2, 0.75  # Okapi BM25's term-frequency saturation and length normalization, as in the fts extension
# A registered Arrow table, not a list parameter: DuckDB converts a list parameter value by value, trying
# `import pandas` for each (a failed import is not cached), which was a third of a batch load's time.
STOPWORDS = pa.table(
    {
        "word": [
            word
            for word in Path(__file__).with_name("search_stopwords.txt").read_text(encoding="utf-8").splitlines()
            if word and not word.startswith("#")
        ]
    }
)
# Words: runs of letters and digits in any script, accents stripped and lowercased.
_WORDS = r"""regexp_split_to_array(lower(strip_accents({})), '[^\p{{L}}\p{{N}}]+')"""
_INDEXED_WORD = "word <> '' AND word NOT IN (SELECT word FROM search_stopwords)"
_QUERY_STEMS = f"""SELECT DISTINCT stem(word, 'porter') AS stem FROM (SELECT unnest({_WORDS.format("$query")}) AS word)
                   WHERE {_INDEXED_WORD}"""
# The connections load_fts has loaded the stemmer on and registered the stop words with (both stay for the
# connection's life).
_FTS_LOADED: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
# Articles out of the index: never indexed, or changed (a new ingested_at) since.
_UNINDEXED = """SELECT a.article_id FROM articles a
                ANTI JOIN search.documents d ON d.article_id = a.article_id AND d.ingested_at = a.ingested_at"""
_UNINDEXED_ROWS = f"SELECT article_id, ingested_at, title, text FROM articles WHERE article_id IN ({_UNINDEXED})"


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
    index: str  # "stored" (the warehouse's index covered every article) or "temporary" (some indexed for this query)
    note: str | None  # which articles the stored index missed, when it missed some


def fts_extension_path() -> Path:
    """The fts extension file shipped by the pip package matching the installed duckdb."""
    try:
        return extension_path("fts")
    except ExtensionMissing as exc:
        raise SearchUnavailable(str(exc)) from None


def load_fts(conn: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension (for its stemmer) from the local package, never from the network, once per
    connection; and register the stop words as `search_stopwords`."""
    if conn in _FTS_LOADED:  # both done for this connection already: they last its life
        return
    conn.register("search_stopwords", STOPWORDS)
    # duckdb_functions(), not duckdb_extensions(): the latter lists the extension folder, which a locked-down
    # reader (warehouse.db.connect_reader) may not touch. It lists every function (14 ms): asked once per
    # connection, not once per batch.
    loaded = conn.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'stem'")
    if not loaded.fetchone()[0]:
        load_extension_file(conn, fts_extension_path())
    _FTS_LOADED.add(conn)


def _word_counts(source: str) -> str:
    """SQL for (article_id, term, tf) of the articles in `source` (article_id, body). Words are counted first; stop
    words are then dropped and the others stemmed once per distinct word, not per occurrence. Takes the
    table search_stopwords (see load_fts)."""
    return f"""
        WITH words AS (SELECT article_id, unnest({_WORDS.format("body")}) AS word FROM {source}),
        counted AS (SELECT article_id, word, count(*) AS tf FROM words GROUP BY ALL),
        stems AS (SELECT word, hash(stem(word, 'porter')) AS term FROM (SELECT DISTINCT word FROM counted)
                  WHERE {_INDEXED_WORD})
        SELECT article_id, term, sum(tf)::INTEGER AS tf FROM counted JOIN stems USING (word) GROUP BY ALL"""


def _tokenize(conn: duckdb.DuckDBPyConnection, rows: str, prefix: str, parameters: list | None = None) -> None:
    """Temporary tables `{prefix}documents` (article_id, ingested_at, terms) and `{prefix}postings` for the
    articles the query `rows` (with its `parameters`) returns (article_id, ingested_at, title, text)."""
    load_fts(conn)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {prefix}bodies AS
            SELECT article_id, ingested_at, coalesce(title, '') || ' ' || text AS body FROM ({rows})""",
        parameters or [],
    )
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {prefix}postings AS {_word_counts(f'{prefix}bodies')}")
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {prefix}documents AS
            SELECT b.article_id, b.ingested_at, coalesce(sum(p.tf), 0)::INTEGER AS terms FROM {prefix}bodies b
            LEFT JOIN {prefix}postings p USING (article_id) GROUP BY ALL"""
    )
    conn.execute(f"DROP TABLE {prefix}bodies")


def index_articles(conn: duckdb.DuckDBPyConnection, rows: str, parameters: list | None = None) -> None:
    """(Re)index the articles the SQL query `rows` (with its `parameters`) returns (article_id, ingested_at,
    title, text, as in `articles`), in the caller's transaction."""
    _tokenize(conn, rows, "indexing_", parameters)
    indexed_before = conn.execute(
        "SELECT count(*) FROM search.documents WHERE article_id IN (SELECT article_id FROM indexing_documents)"
    ).fetchone()[0]
    if indexed_before:  # new articles (most of a load) skip scanning the postings
        for table in ("postings", "documents"):
            conn.execute(f"DELETE FROM search.{table} WHERE article_id IN (SELECT article_id FROM indexing_documents)")
    conn.execute(
        "INSERT INTO search.postings (article_id, term, tf) SELECT article_id, term, tf FROM indexing_postings"
    )
    conn.execute(
        """INSERT INTO search.documents (article_id, ingested_at, terms)
           SELECT article_id, ingested_at, terms FROM indexing_documents"""
    )
    conn.execute("DROP TABLE indexing_postings")
    conn.execute("DROP TABLE indexing_documents")


def refresh_search_index(conn: duckdb.DuckDBPyConnection) -> None:
    """Index the articles the index misses and forget deleted ones, in one transaction (a no-op when current).

    Loads index their articles themselves; this catches up a warehouse from before the index and rows edited
    with SQL. Call on a writing connection."""
    with transaction(conn):
        index_articles(conn, _UNINDEXED_ROWS)
        gone = "article_id NOT IN (SELECT article_id FROM articles)"
        if conn.execute(f"SELECT count(*) FROM search.documents WHERE {gone}").fetchone()[0]:
            conn.execute(f"DELETE FROM search.postings WHERE {gone}")
            conn.execute(f"DELETE FROM search.documents WHERE {gone}")


def _has_index(conn: duckdb.DuckDBPyConnection) -> bool:
    """False on a warehouse from before the index, opened read-only (a writer migrates it)."""
    return (
        conn.execute(
            """SELECT count(*) FROM duckdb_tables()
           WHERE database_name = current_database() AND schema_name = 'search' AND table_name = 'documents'"""
        ).fetchone()[0]
        > 0
    )


def search_index_state(conn: duckdb.DuckDBPyConnection) -> str | None:
    """None when the stored index covers every article as it is now, else how many it misses."""
    total = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if not _has_index(conn):
        return f"the warehouse has no search index yet (the next ingest run builds it): {total:,} articles"
    missing = conn.execute(f"SELECT count(*) FROM ({_UNINDEXED})").fetchone()[0]
    if missing:
        return (
            f"{missing:,} of {total:,} articles are not in the search index yet (loaded before it existed or"
            " edited with SQL; the next ingest run indexes them)"
        )
    return None


def search_articles(conn: duckdb.DuckDBPyConnection, query: str, limit: int = 10) -> SearchResult:
    """Articles ranked by BM25 over title and text (Porter stems, English stop words left out, case and
    accents folded); needs the rpt_ views (`create_views(conn, temporary=True)` on a read-only connection).

    Articles the stored index misses (see search_index_state) are indexed in memory for this query, so the
    ranking is always over every article as it is now, and `note` says how many. Works read-only."""
    if not query.strip():
        raise BadSearch("empty search: give words to look for")
    if limit < 1:
        raise BadSearch(f"--limit must be at least 1, got {limit}")
    load_fts(conn)
    note = search_index_state(conn)
    stored = _has_index(conn)
    if note is not None:
        _tokenize(conn, _UNINDEXED_ROWS if stored else "SELECT * FROM articles", "pending_")
    try:
        scores = _scores(conn, query, stored, pending=note is not None)
    finally:
        if note is not None:
            conn.execute("DROP TABLE pending_postings")
            conn.execute("DROP TABLE pending_documents")
    return SearchResult(_hits(conn, scores, _stems(conn, query), limit), "temporary" if note else "stored", note)


def _scores(conn: duckdb.DuckDBPyConnection, query: str, stored: bool, pending: bool):
    """(article_id, score) of every article the query matches, as an Arrow table: over the stored index's
    current entries and, when `pending`, the temporary tables of the articles it misses."""
    ctes, documents, hits = [], [], []
    if stored:
        ctes.append(
            """stored_documents AS (SELECT d.article_id, d.terms FROM search.documents d
                                   JOIN articles a ON a.article_id = d.article_id AND a.ingested_at = d.ingested_at)"""
        )
        documents.append("SELECT * FROM stored_documents")
        hits.append("SELECT p.*, d.terms FROM search.postings p JOIN stored_documents d USING (article_id)")
    if pending:
        documents.append("SELECT article_id, terms FROM pending_documents")
        hits.append("SELECT p.*, d.terms FROM pending_postings p JOIN pending_documents d USING (article_id)")
    return conn.sql(
        f"""WITH query_terms AS (SELECT hash(stem) AS term FROM ({_QUERY_STEMS})),
            {"".join(cte + "," for cte in ctes)}
            corpus AS (SELECT count(*) AS n, avg(terms) AS avgdl FROM ({" UNION ALL ".join(documents)})),
            hits AS (SELECT * FROM ({" UNION ALL ".join(hits)}) WHERE term IN (SELECT term FROM query_terms)),
            frequency AS (SELECT term, count(*) AS df FROM hits GROUP BY term)
            SELECT article_id, sum(ln((n - df + 0.5) / (df + 0.5) + 1) * tf * ({K1} + 1)
                                   / (tf + {K1} * (1 - {B} + {B} * terms / avgdl))) AS score
            FROM hits JOIN frequency USING (term) CROSS JOIN corpus GROUP BY article_id""",
        params={"query": query},
    ).to_arrow_table()


def _stems(conn: duckdb.DuckDBPyConnection, query: str) -> tuple[str, ...]:
    """The query's words as the index sees them (Porter stems, stop words left out), longest first."""
    rows = conn.execute(_QUERY_STEMS, {"query": query}).fetchall()
    return tuple(sorted({row[0] for row in rows if row[0]}, key=lambda stem: (-len(stem), stem)))


def _hits(conn: duckdb.DuckDBPyConnection, scores, stems: tuple[str, ...], limit: int) -> list[SearchHit]:
    with registered(conn, "search_scores", scores):
        rows = conn.execute(
            """SELECT a.article_id, s.score, a.title, r.outlet, a.published_at, a.first_ingested_at, r.link, a.text
               FROM search_scores s
               JOIN articles a USING (article_id)
               JOIN rpt_articles r USING (article_id)
               ORDER BY s.score DESC, a.article_id
               LIMIT ?""",
            [limit],
        ).fetchall()
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
