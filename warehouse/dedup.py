"""Duplicate marking in the warehouse."""

from __future__ import annotations

import duckdb


def mark_exact_duplicates(conn: duckdb.DuckDBPyConnection) -> None:
    """Level 1: articles with equal normalized text point at one canonical copy.

    The canonical copy is the earliest published, then the longest, then the smallest id, so the
    choice does not depend on load order.
    """
    conn.execute(
        """UPDATE articles a SET duplicate_of = ranked.canonical
           FROM (
               SELECT article_id,
                      nullif(first_value(article_id) OVER (
                          PARTITION BY content_hash
                          ORDER BY published_at NULLS LAST, word_count DESC, article_id), article_id) AS canonical
               FROM articles
           ) ranked
           WHERE a.article_id = ranked.article_id AND a.duplicate_of IS DISTINCT FROM ranked.canonical"""
    )
