"""What a backfill day covers: stored responses and articles dated that day (for the named sources)."""

from __future__ import annotations

import gzip
from datetime import date

import duckdb

from extractors.listings import Link
from fetching.fetch import FetchResult

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
    """Drop the near-duplicate signatures of the day's articles so the next update recomputes them."""
    ids = [
        row[0]
        for row in conn.execute(
            """SELECT a.article_id FROM articles a LEFT JOIN fetches f ON f.final_url = a.source_uri
               WHERE coalesce(a.published_at, f.listed_published_at, a.first_ingested_at)::DATE = ?
                 AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], f.source_name))""",
            [day, sources, sources],
        ).fetchall()
    ]
    conn.execute("DELETE FROM dedup_signatures WHERE list_contains(?::VARCHAR[], article_id)", [ids])
    return len(ids)
