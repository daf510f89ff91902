"""Level 3 of deduplication: stories, canonical articles about the same event (the SQL side; the pure
algorithm is in similarity.stories). Called by warehouse.dedup.update_duplicates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import duckdb
import pyarrow as pa

from similarity.duplicates import DedupSettings
from similarity.stories import group_stories, story_terms
from warehouse.staging import registered

_BATCH = 2000
# A `map` for the per-article work (story terms), in order; the ingest flow passes its extraction pool's.
ParallelMap = Callable[..., Iterable]
DEFAULT_SETTINGS = DedupSettings()


def assign_stories(
    conn: duckdb.DuckDBPyConnection, settings: DedupSettings = DEFAULT_SETTINGS, parallel_map: ParallelMap = map
) -> None:
    """Group canonical articles into stories; copies take their canonical's story."""
    cursor = conn.execute(
        """SELECT article_id, coalesce(published_at, first_ingested_at), title,
                  array_to_string(list_slice(string_split(text, ' '), 1, ?), ' ') FROM articles
           WHERE duplicate_of IS NULL ORDER BY article_id""",
        [settings.lead_words],
    )
    terms = partial(story_terms, lead_words=settings.lead_words)
    documents = (
        document
        for rows in iter(lambda: cursor.fetchmany(_BATCH), [])
        for document in zip(
            [row[0] for row in rows],
            [row[1] for row in rows],
            parallel_map(terms, [row[2] for row in rows], [row[3] for row in rows]),
            strict=True,
        )
    )
    story = group_stories(documents, settings.story_threshold, settings.story_window_days)
    staged = pa.table(
        {"article_id": list(story), "story_id": list(story.values())},
        schema=pa.schema([("article_id", pa.string()), ("story_id", pa.string())]),
    )
    with registered(conn, "staged_stories", staged):
        conn.execute(
            """UPDATE articles a SET story_id = s.story_id
               FROM (SELECT a.article_id, coalesce(c.story_id, d.story_id) AS story_id FROM articles a
                     LEFT JOIN staged_stories c ON c.article_id = a.article_id
                     LEFT JOIN staged_stories d ON d.article_id = a.duplicate_of) s
               WHERE a.article_id = s.article_id AND a.story_id IS DISTINCT FROM s.story_id"""
        )
