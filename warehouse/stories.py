"""Level 3 of deduplication: stories, canonical articles about the same event (the SQL side; the pure
algorithms are in similarity.stories and similarity.furniture). Called by warehouse.dedup.update_duplicates.

State kept between runs (migration 012), so a run reads the text of its new or changed canonical articles only,
and the stored terms of the articles within the story window of them:

- article_lines / outlet_lines: which lines each canonical article holds, and in how many of its outlet's
  canonical articles each line occurs; a line in `furniture_articles` or more is furniture and is left out of
  the story terms. When a line becomes furniture, the stored terms of the articles holding it are recomputed.
- story_articles: each canonical article's outlet, date, story terms (without furniture) and story.
- story_terms: document frequencies of the story terms (for IDF), kept up to date as articles come and go.
- stories: every story id given, in creation order (the older id wins a merge), and what it was merged into.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from similarity.duplicates import DedupSettings
from similarity.furniture import lead_without_furniture, line_keys, outlet_of
from similarity.stories import StorySettings, assign_story_rows, idf_weights, story_terms, tfidf_rows
from warehouse.changes import ChangeScope, change_scope, compares_all
from warehouse.db import on_lake
from warehouse.staging import articles_by_id, registered

_BATCH = 2000
# A `map` for the per-article work (story terms), in order; the ingest flow passes its extraction pool's.
ParallelMap = Callable[..., Iterable]
DEFAULT_SETTINGS = DedupSettings()
DEFAULT_STORY_SETTINGS = StorySettings()
_STATE = ("story_articles", "article_lines", "outlet_lines", "story_terms", "stories", "story_settings")


class _Terms(NamedTuple):
    """An article's story features, as _terms_of computes them."""

    article_id: str
    content_hash: str
    outlet: str
    published_at: datetime | None
    first_ingested_at: datetime
    terms: Counter

    @property
    def date(self) -> datetime:
        """Its story date: published_at, else first_ingested_at."""
        return self.published_at or self.first_ingested_at


def assign_stories(
    conn: duckdb.DuckDBPyConnection,
    settings: DedupSettings = DEFAULT_SETTINGS,
    parallel_map: ParallelMap = map,
    story_settings: StorySettings = DEFAULT_STORY_SETTINGS,
) -> None:
    """Give new or changed canonical articles a story; copies take their canonical's story.

    Story grouping is set by `story_settings` (the story fields of `settings` belong to the former single-link
    grouping and are not read). Earlier articles keep their story: a story id changes only when the story is
    merged into an older one. The articles looked at are those in the change record (the near-duplicate step's
    included), unless the update compares every article (warehouse/changes.py): a run reads their rows and their
    story state by id and date ranges, not a column of every row."""
    every = _forget_other_settings(conn, story_settings) or compares_all(conn)
    scope = change_scope(conn, every)
    reassigned = _forget_gone(conn, scope)
    rows = conn.execute(
        f"""SELECT a.article_id, a.first_ingested_at FROM articles a
            WHERE {scope.where("a.")} AND a.duplicate_of IS NULL
              AND a.article_id NOT IN ({_story_rows(scope, "article_id")})
            ORDER BY coalesce(a.published_at, a.first_ingested_at), a.article_id"""
    ).fetchall()
    stale, ingested = [row[0] for row in rows], dict(rows)
    crossed: set[tuple[str, int]] = set()
    for start in range(0, len(stale), _BATCH):
        crossed |= _count_lines(
            conn, stale[start : start + _BATCH], ingested, story_settings.furniture_articles, parallel_map
        )
    if crossed:
        _refresh_terms(conn, crossed, story_settings, parallel_map)
    merged: dict[str, str] = {}
    for start in range(0, len(stale), _BATCH):
        merged |= _assign_chunk(conn, stale[start : start + _BATCH], ingested, story_settings, parallel_map)
    # Articles whose media changed without their text (media_changes, filled by the load) are joined as new ones.
    media_changed = [
        row[0]
        for row in conn.execute(
            """SELECT DISTINCT article_id FROM media_changes JOIN story_articles USING (article_id)
               ORDER BY article_id"""
        ).fetchall()
    ]
    merged |= join_stories_by_media(conn, list(dict.fromkeys([*stale, *media_changed])), story_settings)
    conn.execute("DELETE FROM media_changes")
    _write_story_ids(conn, scope, merged, reassigned, settings)


def _story_rows(scope: ChangeScope, columns: str) -> str:
    """A query of the story_articles rows of the scope's articles. A row keeps the dates its article had when it was
    assigned; the record gives the article's first_ingested_at, which changes only when the article is deleted with
    SQL and loaded again, and its publication dates since the last update, which miss a row redated before it: the
    rows are read by either (two scans that skip the other row groups; one filter on both columns would not)."""
    if scope.every:
        return f"SELECT {columns} FROM story_articles"
    return " UNION ".join(
        f"SELECT {columns} FROM story_articles WHERE {scope.where(by=by)}"
        for by in ("first_ingested_at", "published_at")
    )


def _write_story_ids(
    conn: duckdb.DuckDBPyConnection,
    scope: ChangeScope,
    merged: dict[str, str],
    reassigned: list[str],
    settings: DedupSettings,
) -> None:
    """Set articles.story_id: a canonical article's story, a copy its canonical's. For a scope of recorded changes,
    only where it can have changed: the recorded articles (new, edited, copies whose canonical changed, ...), the
    articles of merged stories (by their former story id), and the copies of a canonical article assigned again
    after an edit (a copy of a new canonical is recorded: its duplicate_of changed)."""
    if scope.every:
        conn.execute(
            """UPDATE articles a SET story_id = s.story_id FROM story_articles s
               WHERE a.article_id = s.article_id AND a.story_id IS DISTINCT FROM s.story_id"""
        )
        conn.execute(
            """UPDATE articles a SET story_id = c.story_id FROM articles c
               WHERE a.duplicate_of = c.article_id AND a.story_id IS DISTINCT FROM c.story_id"""
        )
        return
    if merged:
        final = {}
        for story in merged:
            into = story
            while into in merged:
                into = merged[into]
            final[story] = into
        staged = pa.table(
            {"story_id": pa.array(list(final), pa.string()), "into": pa.array(list(final.values()), pa.string())}
        )
        with registered(conn, "merged_stories", staged):
            conn.execute("UPDATE articles a SET story_id = m.into FROM merged_stories m WHERE a.story_id = m.story_id")
    # The recorded articles: a canonical one's story is its own row's; a copy's, its canonical's.
    targets = conn.execute(
        f"""SELECT a.article_id, a.duplicate_of, a.published_at, s.story_id FROM articles a
            LEFT JOIN ({_story_rows(scope, "article_id, story_id")}) s USING (article_id)
            WHERE {scope.where("a.")}"""
    ).fetchall()
    stories_of = _stories_of(conn, [(row[1], row[2]) for row in targets if row[1] is not None], settings)
    story = [stories_of[copy_of] if copy_of is not None else own for _, copy_of, _, own in targets]
    staged = pa.table(
        {"article_id": pa.array([row[0] for row in targets], pa.string()), "story_id": pa.array(story, pa.string())}
    )
    with registered(conn, "recorded_stories", staged):
        conn.execute(
            f"""UPDATE articles a SET story_id = r.story_id FROM recorded_stories r
                WHERE a.article_id = r.article_id AND a.story_id IS DISTINCT FROM r.story_id
                  AND {scope.where("a.")}"""
        )
    if reassigned:
        with registered(conn, "reassigned", pa.table({"article_id": pa.array(reassigned, pa.string())})):
            conn.execute(
                """UPDATE articles a SET story_id = s.story_id FROM story_articles s
                   WHERE a.duplicate_of = s.article_id AND s.article_id IN (SELECT article_id FROM reassigned)
                     AND a.story_id IS DISTINCT FROM s.story_id"""
            )


def _stories_of(
    conn: duckdb.DuckDBPyConnection, copies: list[tuple[str, datetime | None]], settings: DedupSettings
) -> dict[str, str]:
    """canonical article_id -> story_id, for the canonicals of these copies (canonical id, copy's publication
    date). A copy is published within the dedup window of its canonical, so their rows are read by the dates within
    that window of the copies' first; those a URL match joined further apart, or to an undated copy, by id alone."""
    wanted = {canonical for canonical, _ in copies}
    if not wanted:
        return {}
    found: dict[str, str] = {}
    dates = [when for _, when in copies if when is not None]
    with registered(conn, "story_of_ids", pa.table({"article_id": pa.array(sorted(wanted), pa.string())})):
        by_id = "article_id IN (SELECT article_id FROM story_of_ids)"
        if dates and settings.window_days is not None:
            windows = _windows(dates, int(settings.window_days) + 1)
            near = " OR ".join(
                f"published_at BETWEEN TIMESTAMP '{lo.isoformat(' ')}' AND TIMESTAMP '{hi.isoformat(' ')}'"
                for lo, hi in zip(windows["lo"].to_pylist(), windows["hi"].to_pylist(), strict=True)
            )
            found.update(
                conn.execute(f"SELECT article_id, story_id FROM story_articles WHERE {by_id} AND ({near})").fetchall()
            )
        if len(found) < len(wanted):
            found.update(conn.execute(f"SELECT article_id, story_id FROM story_articles WHERE {by_id}").fetchall())
    return found


def _forget_other_settings(conn: duckdb.DuckDBPyConnection, story_settings: StorySettings) -> bool:
    """Drop the story state computed with other settings, so every story is computed again; True when it did."""
    fingerprint = story_settings.fingerprint()
    if conn.execute("SELECT fingerprint FROM story_settings").fetchall() == [(fingerprint,)]:
        return False
    for table in _STATE:
        conn.execute(f"DELETE FROM {table}")
    conn.execute("INSERT INTO story_settings (fingerprint) VALUES (?)", [fingerprint])
    return True


def _forget_gone(conn: duckdb.DuckDBPyConnection, scope: ChangeScope) -> list[str]:
    """Drop the state of articles deleted, edited or no longer canonical: their line counts and term counts are
    taken back (an edited or again canonical article is assigned again as a new one). Returns the edited ones
    still canonical, whose copies follow their new story."""
    gone = conn.execute(
        f"""SELECT s.article_id, a.article_id IS NOT NULL AND a.duplicate_of IS NULL
            FROM ({_story_rows(scope, "article_id, content_hash")}) s
            LEFT JOIN (SELECT article_id, duplicate_of, content_hash FROM articles WHERE {scope.where()}) a
            USING (article_id)
            WHERE a.article_id IS NULL OR a.duplicate_of IS NOT NULL OR a.content_hash <> s.content_hash"""
    ).fetchall()
    if not gone:
        return []
    with registered(conn, "gone_ids", pa.table({"article_id": pa.array([row[0] for row in gone], pa.string())})):
        conn.execute(
            """UPDATE outlet_lines o SET articles = o.articles - g.n
               FROM (SELECT outlet, line_key, count(*) AS n FROM article_lines
                     WHERE article_id IN (SELECT article_id FROM gone_ids) GROUP BY ALL) g
               WHERE o.outlet = g.outlet AND o.line_key = g.line_key"""
        )
        conn.execute("DELETE FROM outlet_lines WHERE articles <= 0")
        conn.execute("DELETE FROM article_lines WHERE article_id IN (SELECT article_id FROM gone_ids)")
        _add_document_frequencies(conn, _stored_terms(conn, "gone_ids"), -1)
        for by in ("first_ingested_at", "published_at"):  # as _story_rows reads them
            conn.execute(
                f"""DELETE FROM story_articles WHERE article_id IN (SELECT article_id FROM gone_ids)
                    AND {scope.where(by=by)}"""
            )
    return [row[0] for row in gone if row[1]]


def _stored_terms(conn: duckdb.DuckDBPyConnection, ids_view: str) -> Counter:
    """Term -> number of the articles in the view `ids_view` whose stored story terms hold it."""
    rows = conn.execute(
        f"""SELECT t, count(*) FROM (SELECT unnest(terms) AS t FROM story_articles
                                     WHERE article_id IN (SELECT article_id FROM {ids_view})) GROUP BY t"""
    ).fetchall()
    return Counter(dict(rows))


def _add_document_frequencies(conn: duckdb.DuckDBPyConnection, counts: Counter, sign: int) -> None:
    """Add (sign 1) or take back (-1) the articles per term in story_terms: an update of the terms it holds, an
    insert of the others (no upserts: a lake has no keys), and, when taking back, a delete of the terms left in
    no article. Deleting and inserting every term touched cost 1.3 s per 1,000 new articles (the key's index)."""
    if not counts:
        return
    staged = pa.table({"term": list(counts), "n": pa.array([sign * n for n in counts.values()], pa.int64())})
    with registered(conn, "staged_terms", staged):
        conn.execute(
            """UPDATE story_terms t SET articles = t.articles + s.n FROM staged_terms s WHERE t.term = s.term"""
        )
        conn.execute(
            """INSERT INTO story_terms (term, articles) SELECT term, n FROM staged_terms s
               WHERE n > 0 AND NOT EXISTS (SELECT 1 FROM story_terms t WHERE t.term = s.term)"""
        )
    if sign < 0:
        conn.execute("DELETE FROM story_terms WHERE articles <= 0")


def _count_lines(
    conn: duckdb.DuckDBPyConnection,
    ids: list[str],
    ingested: dict[str, datetime],
    min_articles: int,
    parallel_map: ParallelMap = map,
) -> set[tuple[str, int]]:
    """Store the lines of these new canonical articles (`ingested`: their first_ingested_at) and add them to their
    outlets' counts; returns the (outlet, line) pairs that became furniture with them. The lines are hashed with
    `parallel_map`."""
    rows = articles_by_id(
        conn, ids, "article_id, url, source_uri, site_name, text", [ingested[i] for i in ids], "first_ingested_at"
    )
    article_ids, outlets, keys = [], [], []
    counts: Counter = Counter()
    for (article_id, url, source_uri, site_name, _), text_keys in zip(
        rows, parallel_map(line_keys, [row[4] for row in rows]), strict=True
    ):
        outlet = outlet_of(url, source_uri, site_name)
        for key in text_keys:
            article_ids.append(article_id)
            outlets.append(outlet)
            keys.append(key)
            counts[outlet, key] += 1
    if not counts:
        return set()
    staged_lines = pa.table(
        {"article_id": pa.array(article_ids, pa.string()), "outlet": outlets, "line_key": pa.array(keys, pa.int64())}
    )
    staged_counts = pa.table(
        {
            "outlet": [outlet for outlet, _ in counts],
            "line_key": pa.array([key for _, key in counts], pa.int64()),
            "n": pa.array(list(counts.values()), pa.int64()),
        }
    )
    with registered(conn, "staged_lines", staged_lines), registered(conn, "staged_counts", staged_counts):
        conn.execute("INSERT INTO article_lines (article_id, outlet, line_key) SELECT * FROM staged_lines")
        # outlet_lines holds 5.7 million rows at 1,000,000 articles, without an index: the counts it has are raised
        # in place and returned in one pass (a DuckLake table returns nothing from an UPDATE: there, read first).
        update = """UPDATE outlet_lines o SET articles = o.articles + s.n FROM staged_counts s
                    WHERE o.outlet = s.outlet AND o.line_key = s.line_key"""
        if on_lake(conn):
            raised = conn.execute(
                """SELECT o.outlet, o.line_key, o.articles + s.n FROM outlet_lines o
                   JOIN staged_counts s USING (outlet, line_key)"""
            ).fetchall()
            conn.execute(update)
        else:
            raised = conn.execute(f"{update} RETURNING o.outlet, o.line_key, o.articles").fetchall()
        found = {(outlet, key): articles for outlet, key, articles in raised}
        if len(found) < len(counts):
            fresh = [key for key in counts if key not in found]
            staged_fresh = pa.table(
                {
                    "outlet": pa.array([outlet for outlet, _ in fresh], pa.string()),
                    "line_key": pa.array([key for _, key in fresh], pa.int64()),
                    "articles": pa.array([counts[key] for key in fresh], pa.int32()),
                }
            )
            with registered(conn, "staged_fresh", staged_fresh):
                conn.execute("INSERT INTO outlet_lines (outlet, line_key, articles) SELECT * FROM staged_fresh")
    after = {key: found.get(key, n) for key, n in counts.items()}
    return {key for key, n in counts.items() if after[key] - n < min_articles <= after[key]}


def _furniture(conn: duckdb.DuckDBPyConnection, outlets: Iterable[str], min_articles: int) -> dict[str, set[int]]:
    """outlet -> keys of its furniture lines."""
    with registered(conn, "furniture_outlets", pa.table({"outlet": pa.array(sorted(set(outlets)), pa.string())})):
        rows = conn.execute(
            """SELECT outlet, line_key FROM outlet_lines
               WHERE articles >= ? AND outlet IN (SELECT outlet FROM furniture_outlets)""",
            [min_articles],
        ).fetchall()
    furniture: dict[str, set[int]] = defaultdict(set)
    for outlet, key in rows:
        furniture[outlet].add(key)
    return furniture


def _terms_of(
    conn: duckdb.DuckDBPyConnection,
    ids: list[str],
    ingested: dict[str, datetime],
    story_settings: StorySettings,
    parallel_map: ParallelMap,
) -> list[_Terms]:
    """The story features of these articles (`ingested`: their first_ingested_at), terms without their outlet's
    furniture."""
    rows = articles_by_id(
        conn,
        ids,
        "article_id, content_hash, url, source_uri, site_name, published_at, first_ingested_at, title, text",
        [ingested[i] for i in ids],
        "first_ingested_at",
    )
    outlets = [outlet_of(row[2], row[3], row[4]) for row in rows]
    furniture = _furniture(conn, outlets, story_settings.furniture_articles)
    leads = [
        lead_without_furniture(row[8], furniture.get(outlet, ()), story_settings.lead_words)
        for row, outlet in zip(rows, outlets, strict=True)
    ]
    terms = parallel_map(partial(story_terms, lead_words=story_settings.lead_words), [row[7] for row in rows], leads)
    return [
        _Terms(row[0], row[1], outlet, row[5], row[6], t) for row, outlet, t in zip(rows, outlets, terms, strict=True)
    ]


def _refresh_terms(
    conn: duckdb.DuckDBPyConnection,
    crossed: set[tuple[str, int]],
    story_settings: StorySettings,
    parallel_map: ParallelMap,
) -> None:
    """Recompute the stored terms of the articles holding lines that just became furniture (an outlet's first
    articles were assigned before their furniture was known); their stories do not change."""
    staged = pa.table(
        {"outlet": [outlet for outlet, _ in crossed], "line_key": pa.array([key for _, key in crossed], pa.int64())}
    )
    with registered(conn, "crossed_lines", staged):
        ingested = dict(
            conn.execute(
                """SELECT DISTINCT l.article_id, s.first_ingested_at FROM article_lines l
                   JOIN crossed_lines c USING (outlet, line_key)
                   JOIN story_articles s ON s.article_id = l.article_id ORDER BY 1"""
            ).fetchall()
        )
    ids = list(ingested)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        fresh = _terms_of(conn, chunk, ingested, story_settings, parallel_map)
        with registered(conn, "refresh_ids", pa.table({"article_id": pa.array(chunk, pa.string())})):
            _add_document_frequencies(conn, _stored_terms(conn, "refresh_ids"), -1)
        _add_document_frequencies(conn, Counter(t for row in fresh for t in row.terms), 1)
        staged_terms = pa.table(
            {
                "article_id": pa.array([row.article_id for row in fresh], pa.string()),
                "terms": pa.array([list(row.terms) for row in fresh], pa.list_(pa.string())),
                "counts": pa.array([list(row.terms.values()) for row in fresh], pa.list_(pa.int32())),
            }
        )
        with registered(conn, "staged_terms_rows", staged_terms):
            conn.execute(
                """UPDATE story_articles s SET terms = r.terms, counts = r.counts FROM staged_terms_rows r
                   WHERE s.article_id = r.article_id"""
            )


def _windows(dates: list[datetime], days: int) -> pa.Table:
    """The dates' windows (date +- days), overlapping ones merged: where the known articles are read from."""
    span = timedelta(days=days)
    merged: list[list[datetime]] = []
    for when in sorted(dates):
        if merged and when - span <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], when + span)
        else:
            merged.append([when - span, when + span])
    return pa.table(
        {
            "lo": pa.array([w[0] for w in merged], pa.timestamp("us")),
            "hi": pa.array([w[1] for w in merged], pa.timestamp("us")),
        }
    )


def _idf_of(conn: duckdb.DuckDBPyConnection, vocabulary: pa.Array, documents: int, min_documents: int) -> np.ndarray:
    """The IDF of each term of `vocabulary`, from the document frequencies in story_terms."""
    staged = pa.table({"term": vocabulary, "position": pa.array(np.arange(len(vocabulary)), pa.int64())})
    with registered(conn, "vocabulary", staged):
        frequencies = (
            conn.execute(
                """SELECT coalesce(t.articles, -1) AS articles FROM vocabulary v LEFT JOIN story_terms t USING (term)
                   ORDER BY v.position"""
            )
            .to_arrow_table()["articles"]
            .to_numpy()
        )
    return idf_weights(frequencies, documents, min_documents)


def _assign_chunk(
    conn: duckdb.DuckDBPyConnection,
    ids: list[str],
    ingested: dict[str, datetime],
    story_settings: StorySettings,
    parallel_map: ParallelMap,
) -> dict[str, str]:
    """Assign a chunk of new canonical articles to stories against the stored articles in their windows; returns
    the stories merged (story_id -> the story it joined)."""
    rows = _terms_of(conn, ids, ingested, story_settings, parallel_map)
    if not rows:
        return {}
    _add_document_frequencies(conn, Counter(t for row in rows for t in row.terms), 1)
    rows.sort(key=lambda row: (row.date, row.article_id))
    windows = _windows([row.date for row in rows], story_settings.window_days)
    span = {"lo": windows["lo"][0].as_py(), "hi": windows["hi"][-1].as_py()}
    with registered(conn, "windows", windows):
        # The span of the windows, as plain range filters on each date column, lets the scan skip the row groups
        # outside it (their terms are not read): the cost follows the window, not the warehouse.
        known = conn.execute(
            """WITH near AS (
                   SELECT *, published_at AS date FROM story_articles WHERE published_at BETWEEN $lo AND $hi
                   UNION ALL
                   SELECT *, first_ingested_at AS date FROM story_articles
                   WHERE published_at IS NULL AND first_ingested_at BETWEEN $lo AND $hi)
               SELECT article_id, epoch_us(date) AS us, story_id, terms, counts FROM near s
               WHERE EXISTS (SELECT 1 FROM windows w WHERE s.date BETWEEN w.lo AND w.hi)
               ORDER BY date, article_id""",
            span,
        ).to_arrow_table()
    terms = pa.concat_arrays(
        [
            pc.list_flatten(known["terms"]).combine_chunks().cast(pa.string()),
            pa.array([t for row in rows for t in row.terms], pa.string()),
        ]
    ).dictionary_encode()
    lengths = np.concatenate(
        [pc.list_value_length(known["terms"]).to_numpy(zero_copy_only=False), [len(row.terms) for row in rows]]
    )
    counts = np.concatenate(
        [
            pc.list_flatten(known["counts"]).to_numpy(zero_copy_only=False),
            [n for row in rows for n in row.terms.values()],
        ]
    )
    documents = conn.execute("SELECT count(*) FROM story_articles").fetchone()[0] + len(rows)
    idf = _idf_of(conn, terms.dictionary, documents, story_settings.min_idf_documents)
    matrix = tfidf_rows(
        np.concatenate([[0], np.cumsum(lengths)]), terms.indices.to_numpy(), counts, idf, len(terms.dictionary)
    )
    ids = [*known["article_id"].to_pylist(), *(row.article_id for row in rows)]
    epoch = datetime(1970, 1, 1)
    seconds = np.concatenate(
        [known["us"].to_numpy().astype(np.float64) / 1e6, [(row.date - epoch).total_seconds() for row in rows]]
    )
    known_stories = known["story_id"].to_pylist()
    candidates = sorted(set(known_stories) | {row.article_id for row in rows})
    with registered(conn, "candidate_stories", pa.table({"story_id": pa.array(candidates, pa.string())})):
        created = dict(
            conn.execute(
                "SELECT story_id, created FROM stories WHERE story_id IN (SELECT story_id FROM candidate_stories)"
            ).fetchall()
        )
    result = assign_story_rows(matrix, ids, seconds, known_stories, story_settings, created)
    start = conn.execute("SELECT coalesce(max(created) + 1, 0) FROM stories").fetchone()[0]
    staged_stories = pa.table(
        {
            "story_id": pa.array(result.created, pa.string()),
            "created": pa.array(range(start, start + len(result.created)), pa.int64()),
        }
    )
    staged_articles = pa.table(
        {
            "article_id": pa.array([row.article_id for row in rows], pa.string()),
            "content_hash": [row.content_hash for row in rows],
            "outlet": [row.outlet for row in rows],
            "published_at": pa.array([row.published_at for row in rows], pa.timestamp("us")),
            "first_ingested_at": pa.array([row.first_ingested_at for row in rows], pa.timestamp("us")),
            "story_id": [result.stories[row.article_id] for row in rows],
            "terms": pa.array([list(row.terms) for row in rows], pa.list_(pa.string())),
            "counts": pa.array([list(row.terms.values()) for row in rows], pa.list_(pa.int32())),
        }
    )
    staged_merges = pa.table(
        {
            "story_id": pa.array(list(result.merged), pa.string()),
            "into": pa.array(list(result.merged.values()), pa.string()),
        }
    )
    with (
        registered(conn, "staged_stories", staged_stories),
        registered(conn, "staged_articles", staged_articles),
        registered(conn, "staged_merges", staged_merges),
    ):
        conn.execute("INSERT INTO stories (story_id, created) SELECT story_id, created FROM staged_stories")
        conn.execute(
            """INSERT INTO story_articles
                   (article_id, content_hash, outlet, published_at, first_ingested_at, story_id, terms, counts)
               SELECT article_id, content_hash, outlet, published_at, first_ingested_at, story_id, terms, counts
               FROM staged_articles"""
        )
        if result.merged:
            conn.execute(
                """UPDATE story_articles s SET story_id = m.into FROM staged_merges m WHERE s.story_id = m.story_id"""
            )
            conn.execute(
                """UPDATE stories s SET merged_into = m.into FROM staged_merges m WHERE s.story_id = m.story_id"""
            )
    return dict(result.merged)


def join_stories_by_media(
    conn: duckdb.DuckDBPyConnection, ids: list[str], story_settings: StorySettings
) -> dict[str, str]:
    """After the text assignment: the stories of canonical articles within the story window of each other that
    carry the same media item (an embedded video, a cited post; table article_media) become one, whatever their
    languages. The older story id wins and the others record `merged_into`, as in a text merge.

    A media item that `furniture_articles` or more canonical articles of one outlet carry (a site's live-stream
    player, its channel trailer) is that outlet's furniture and joins nothing for it. Returns the stories merged
    (story_id -> the story it joined)."""
    if not ids:
        return {}
    with registered(conn, "media_story_ids", pa.table({"article_id": pa.array(ids, pa.string())})):
        pairs = conn.execute(
            """WITH keys AS (
                   SELECT DISTINCT platform, media_id FROM article_media
                   WHERE article_id IN (SELECT article_id FROM media_story_ids)
               ),
               items AS (
                   SELECT DISTINCT m.platform, m.media_id, s.article_id, s.outlet, s.story_id,
                          coalesce(s.published_at, s.first_ingested_at) AS date
                   FROM article_media m JOIN keys USING (platform, media_id)
                   JOIN story_articles s USING (article_id)
               ),
               furniture AS (
                   SELECT platform, media_id, outlet FROM items GROUP BY ALL HAVING count(*) >= $furniture
               ),
               kept AS (
                   SELECT * FROM items i ANTI JOIN furniture f USING (platform, media_id, outlet)
               )
               SELECT DISTINCT a.story_id, b.story_id
               FROM kept a JOIN kept b USING (platform, media_id)
               WHERE a.article_id IN (SELECT article_id FROM media_story_ids) AND a.story_id <> b.story_id
                 AND abs(date_diff('second', a.date, b.date)) <= $window""",
            {"furniture": story_settings.furniture_articles, "window": story_settings.window_days * 86400},
        ).fetchall()
    if not pairs:
        return {}
    parent: dict[str, str] = {}

    def root(story: str) -> str:
        while parent.setdefault(story, story) != story:
            story = parent[story]
        return story

    for a, b in pairs:
        parent[root(a)] = root(b)
    stories = sorted(parent)
    with registered(conn, "media_stories", pa.table({"story_id": pa.array(stories, pa.string())})):
        created = dict(
            conn.execute(
                "SELECT story_id, created FROM stories WHERE story_id IN (SELECT story_id FROM media_stories)"
            ).fetchall()
        )
    groups: dict[str, list[str]] = defaultdict(list)
    for story in stories:
        groups[root(story)].append(story)
    merged = {}
    for members in groups.values():
        winner = min(members, key=lambda story: (created.get(story, float("inf")), story))
        merged.update({story: winner for story in members if story != winner})
    staged = pa.table(
        {"story_id": pa.array(list(merged), pa.string()), "into": pa.array(list(merged.values()), pa.string())}
    )
    with registered(conn, "media_merges", staged):
        conn.execute("UPDATE story_articles s SET story_id = m.into FROM media_merges m WHERE s.story_id = m.story_id")
        conn.execute("UPDATE stories s SET merged_into = m.into FROM media_merges m WHERE s.story_id = m.story_id")
        conn.execute("UPDATE stories s SET merged_into = m.into FROM media_merges m WHERE s.merged_into = m.story_id")
    return merged
