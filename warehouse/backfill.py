"""What a backfill day covers: stored responses and articles dated that day (for the named sources), and which
(source, day, archive) a history backfill has finished."""

from __future__ import annotations

import gzip
from datetime import date

import duckdb

from extractors.listings import Link
from fetching.fetch import FetchResult
from warehouse.db import transaction
from warehouse.dedup import forget_signatures_of

# An article's day: its publication date, else the listing's date, else when it was fetched or loaded.
_RESPONSES = """
    SELECT f.url, f.final_url, f.status, f.content_type, f.charset, f.etag, f.last_modified, f.body_gzip,
           f.listed_published_at, f.fetched_at, f.redirects, f.attempts
    FROM fetches f LEFT JOIN articles a ON a.source_uri = f.final_url
    WHERE coalesce(a.published_at, f.listed_published_at, f.fetched_at)::DATE = ?
      AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], f.source_name))
    ORDER BY f.url
"""


def stored_responses(conn: duckdb.DuckDBPyConnection, day: date, sources: list[str]) -> list[tuple[Link, FetchResult]]:
    """The kept responses of the day as the links and fetch results they were, ready to extract again."""
    pairs = []
    for url, final, status, ctype, charset, etag, modified, body, listed, fetched, redirects, attempts in conn.execute(
        _RESPONSES, [day, sources, sources]
    ).fetchall():
        headers = {"content-type": ctype + (f"; charset={charset}" if charset else "")} if ctype else {}
        headers |= {k: v for k, v in (("etag", etag), ("last-modified", modified)) if v}
        result = FetchResult(url, final, status, fetched, headers, gzip.decompress(body), tuple(redirects), attempts)
        pairs.append((Link(url, listed), result))
    return pairs


def forget_signatures(conn: duckdb.DuckDBPyConnection, day: date, sources: list[str]) -> int:
    """Mark the near-duplicate signatures of the day's articles stale, and note the articles in the change record,
    so the next update recomputes them (in one transaction); returns how many articles."""
    ids = [
        row[0]
        for row in conn.execute(
            """SELECT a.article_id FROM articles a LEFT JOIN fetches f ON f.final_url = a.source_uri
               WHERE coalesce(a.published_at, f.listed_published_at, a.first_ingested_at)::DATE = ?
                 AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], f.source_name))""",
            [day, sources, sources],
        ).fetchall()
    ]
    with transaction(conn):
        return forget_signatures_of(conn, ids)


def finished_history(conn: duckdb.DuckDBPyConnection, start: date, end: date) -> set[tuple[str, date, str]]:
    """The (source, day, archive) of a history backfill already finished in the range."""
    rows = conn.execute(
        "SELECT source_name, day, archive FROM history_days WHERE day BETWEEN ? AND ?", [start, end]
    ).fetchall()
    return {(source, day, archive) for source, day, archive in rows}


def record_history(
    conn: duckdb.DuckDBPyConnection, day: date, finished: list[tuple[str, str, int]], run_id: str
) -> None:
    """Note the day's finished (source, archive, found) as done by this run."""
    rows = [(source, day, archive, found, run_id) for source, archive, found in finished]
    if not rows:
        return
    # Delete, then insert: a DuckLake warehouse has no primary keys for ON CONFLICT.
    keys = [row[:3] for row in rows]
    conn.executemany("DELETE FROM history_days WHERE source_name = ? AND day = ? AND archive = ?", keys)
    conn.executemany("INSERT INTO history_days VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)", rows)
