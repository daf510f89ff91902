"""Duplicates and stories in the warehouse, in three levels (the SQL; the pure algorithms are in
similarity.duplicates and similarity.stories).

1. Exact: equal content_hash or equal canonical URL.
2. Near-identical copies: MinHash signatures and LSH band keys are stored per article, so a new article
   is compared only with the articles sharing a band key; candidates are verified with exact Jaccard
   and containment of their shingle sets. Pairs are stored in near_duplicates.
3. Stories: canonical articles about the same event (TF-IDF cosine of title and lead, within a window).

Canonical copies are chosen over all stored pairs at once, so the result does not depend on the order
articles arrived in: an incremental update equals a recompute from scratch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial

import duckdb
import numpy as np
import pyarrow as pa

from similarity.duplicates import DedupSettings, OrderKey, choose_canonicals, confirms_chain, verify_candidates
from similarity.minhash import MinHashParams, band_keys, minhash_signatures, shingle_hashes
from similarity.slots import TextFeatures
from warehouse.db import transaction
from warehouse.staging import articles_by_id, registered
from warehouse.stories import assign_stories  # Level 3 lives in warehouse.stories; re-exported here

_BATCH = 2000
RECENT_CHUNKS = 3  # chunks of stale articles whose shingle sets stay in memory for verification
# A `map` for the per-article work (shingles, story terms), in order; the ingest flow passes its extraction pool's.
ParallelMap = Callable[..., Iterable]
DEFAULT_SETTINGS = DedupSettings()  # frozen: one instance serves every default argument


def update_duplicates(
    conn: duckdb.DuckDBPyConnection, settings: DedupSettings = DEFAULT_SETTINGS, parallel_map: ParallelMap = map
) -> None:
    """Bring signatures, pairs, duplicate_of and story_id up to date with the articles table.

    Committed in steps (see migration 008): one transaction held the whole update's new rows in memory, 10 MB
    per 2,000 new articles. `dedup_pending` keeps a row until the stories are committed, so an update cut short
    is finished by the next; any prefix of the steps followed by a full update gives the same tables."""
    update_near_duplicates(conn, settings, parallel_map)
    with transaction(conn):
        assign_stories(conn, settings, parallel_map)
        conn.execute("DELETE FROM dedup_pending")


def dedup_is_current(conn: duckdb.DuckDBPyConnection, settings: DedupSettings = DEFAULT_SETTINGS) -> bool:
    """True when every article has the signature of its current text, computed with these settings, no update
    was cut short and no article's media changed since the stories were assigned: no dedup work is pending."""
    return conn.execute(
        """SELECT NOT EXISTS (SELECT 1 FROM articles a LEFT JOIN dedup_signatures s USING (article_id)
                              WHERE s.article_id IS NULL OR s.content_hash <> a.content_hash)
                  AND NOT EXISTS (SELECT 1 FROM dedup_pending)
                  AND NOT EXISTS (SELECT 1 FROM media_changes)
                  AND (NOT EXISTS (SELECT 1 FROM articles)
                       OR coalesce((SELECT list(fingerprint) FROM dedup_settings) = [?], false))""",
        [settings.fingerprint()],
    ).fetchone()[0]


def update_near_duplicates(
    conn: duckdb.DuckDBPyConnection, settings: DedupSettings = DEFAULT_SETTINGS, parallel_map: ParallelMap = map
) -> None:
    """Levels 1 and 2: signatures of new or edited articles, their verified pairs, then duplicate_of.

    Stale articles go in publication order, a chunk at a time: each chunk's signatures are stored, then its
    candidates (against every article already signed) are verified with the shingle sets of the last few
    chunks kept in memory, where most copies of an article are, since pickups follow within hours. Each chunk
    is a transaction; `dedup_pending` gets a row in the first (update_duplicates clears it)."""
    with transaction(conn):
        resumed = conn.execute("SELECT count(*) FROM dedup_pending").fetchone()[0] > 0
        conn.execute("INSERT INTO dedup_pending (since) SELECT now()::TIMESTAMP WHERE NOT EXISTS (FROM dedup_pending)")
        recompute = _forget_other_settings(conn, settings) or resumed
        stale, touched = _forget_stale(conn)
    features = partial(_features_of_texts, conn, params=settings.minhash, parallel_map=parallel_map)
    recent: list[dict[str, TextFeatures]] = []
    for start in range(0, len(stale), _BATCH):
        chunk = stale[start : start + _BATCH]
        with transaction(conn):
            chunk_features, chunk_bands = _store_signatures(conn, chunk, settings.minhash, features)
            recent = [*recent[-(RECENT_CHUNKS - 1) :], chunk_features]
            known = {k: v for sets in recent for k, v in sets.items()}
            _store_pairs(
                conn, [row[0] for row in chunk], chunk_bands, settings, known, features, _span(chunk, settings)
            )
    with transaction(conn):
        # An update cut short (dedup_pending left set) does not know what it touched: all groups are chosen again.
        assign_canonicals(conn, settings, parallel_map, None if recompute else [*(row[0] for row in stale), *touched])


def _span(chunk: list[tuple[str, str, datetime | None]], settings: DedupSettings) -> tuple[datetime, datetime]:
    """The publication dates a chunk's copies can have (its dates widened by the window); all dates when an
    article of the chunk is undated or there is no window."""
    dates = [row[2] for row in chunk]
    if settings.window_days is None or None in dates:
        return datetime(1, 1, 1), datetime(9999, 12, 31)
    window = timedelta(days=settings.window_days)
    return min(dates) - window, max(dates) + window


def _forget_other_settings(conn: duckdb.DuckDBPyConnection, settings: DedupSettings) -> bool:
    """Drop signatures, bands and pairs computed with other settings or hashing, so all are recomputed; True when
    it did."""
    fingerprint = settings.fingerprint()
    stored = conn.execute("SELECT fingerprint FROM dedup_settings").fetchall()
    if stored == [(fingerprint,)]:
        return False
    for table in ("dedup_signatures", "dedup_bands", "near_duplicates", "dedup_settings"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("INSERT INTO dedup_settings (fingerprint) VALUES (?)", [fingerprint])
    return True


def _forget_stale(conn: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str, datetime | None]], list[str]]:
    """(article_id, content_hash, published_at) of new or edited articles, in publication order, after dropping the
    signatures, bands and pairs of the edited and deleted ones; and the articles whose canonical may change besides
    them: those paired with an edited or deleted article, and those whose publication date changed.

    A new article has none to drop, so a run that only adds articles deletes nothing: the deletes scan the bands,
    64 rows per article (64 million at 1,000,000 articles)."""
    rows = conn.execute(
        """SELECT a.article_id, a.content_hash, a.published_at, s.article_id IS NOT NULL,
                  s.content_hash IS NOT DISTINCT FROM a.content_hash
           FROM articles a LEFT JOIN dedup_signatures s USING (article_id)
           WHERE s.article_id IS NULL OR s.content_hash <> a.content_hash
              OR s.published_at IS DISTINCT FROM a.published_at
           ORDER BY a.published_at NULLS LAST, a.article_id"""
    ).fetchall()
    stale = [(row[0], row[1], row[2]) for row in rows if not row[4]]
    redated = [(row[0], row[2]) for row in rows if row[4]]
    deleted = conn.execute(
        "SELECT s.article_id FROM dedup_signatures s ANTI JOIN articles a USING (article_id)"
    ).fetchall()
    forget = [row[0] for row in rows if row[3] and not row[4]] + [row[0] for row in deleted]
    touched = [row[0] for row in redated]
    if redated:
        staged = pa.table(
            {"article_id": touched, "published_at": pa.array([row[1] for row in redated], pa.timestamp("us"))}
        )
        with registered(conn, "redated", staged):
            for table in ("dedup_signatures", "dedup_bands"):
                conn.execute(
                    f"""UPDATE {table} s SET published_at = r.published_at FROM redated r
                        WHERE s.article_id = r.article_id"""
                )
    if forget:
        with registered(conn, "forget_ids", pa.table({"article_id": pa.array(forget, pa.string())})):
            touched += [
                row[0]
                for row in conn.execute(
                    """SELECT other_id FROM near_duplicates WHERE article_id IN (SELECT article_id FROM forget_ids)
                       UNION SELECT article_id FROM near_duplicates
                       WHERE other_id IN (SELECT article_id FROM forget_ids)"""
                ).fetchall()
            ]
            for table, columns in (
                ("dedup_signatures", ("article_id",)),
                ("dedup_bands", ("article_id",)),
                ("near_duplicates", ("article_id", "other_id")),
            ):
                gone = " OR ".join(f"{column} IN (SELECT article_id FROM forget_ids)" for column in columns)
                conn.execute(f"DELETE FROM {table} WHERE {gone}")
    return stale, touched


def _features_of_texts(
    conn: duckdb.DuckDBPyConnection,
    article_ids: list[str],
    params: MinHashParams,
    parallel_map: ParallelMap,
) -> dict[str, TextFeatures]:
    """article_id -> TextFeatures (shingle sets computed with `parallel_map`), from the stored texts; the outlet
    is the host of the canonical URL, else of the source URI."""
    rows = articles_by_id(
        conn,
        article_ids,
        """article_id, text,
           regexp_extract(coalesce(url, source_uri), '^[A-Za-z][A-Za-z0-9+.-]*://(?:www[.])?([^/:?#]*)', 1)""",
    )
    sets = parallel_map(partial(shingle_hashes, params=params), [row[1] for row in rows])
    return {
        article_id: TextFeatures(shingles, text, outlet.lower())
        for (article_id, text, outlet), shingles in zip(rows, sets, strict=True)
    }


def _store_signatures(
    conn: duckdb.DuckDBPyConnection,
    chunk: list[tuple[str, str, datetime | None]],
    params: MinHashParams,
    features: Callable[[list[str]], dict[str, TextFeatures]],
) -> tuple[dict[str, TextFeatures], pa.Table]:
    """Signatures and band keys of a chunk of stale articles; returns their features and band keys."""
    ids = [row[0] for row in chunk]
    by_id = features(ids)
    shingle_sets = [by_id[article_id].shingles for article_id in ids]
    signatures = minhash_signatures(shingle_sets, params)
    keys = band_keys(signatures, params)
    filled = np.array([len(shingle_set) > 0 for shingle_set in shingle_sets])
    signature_column = pa.FixedSizeListArray.from_arrays(pa.array(signatures.ravel(), pa.uint64()), params.permutations)
    staged_signatures = pa.table(
        {
            "article_id": ids,
            "content_hash": [row[1] for row in chunk],
            "published_at": pa.array([row[2] for row in chunk], pa.timestamp("us")),
            "shingle_count": pa.array([len(shingle_set) for shingle_set in shingle_sets], pa.int32()),
            "signature": signature_column.cast(pa.list_(pa.uint64())),
        }
    )
    staged_bands = pa.table(
        {
            "band": pa.array(np.tile(np.arange(params.bands, dtype=np.int16), int(filled.sum())), pa.int16()),
            "band_key": pa.array(keys[filled].ravel(), pa.uint64()),
            "article_id": pa.array(np.repeat(np.array(ids, dtype=object)[filled], params.bands), pa.string()),
            "published_at": pa.array(
                np.repeat(np.array([row[2] for row in chunk], dtype=object)[filled], params.bands), pa.timestamp("us")
            ),
        }
    )
    for table, staged in (("dedup_signatures", staged_signatures), ("dedup_bands", staged_bands)):
        columns = ", ".join(staged.column_names)
        with registered(conn, "staged", staged):
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM staged")
    return {article_id: by_id[article_id] for article_id in ids}, staged_bands


def _store_pairs(
    conn: duckdb.DuckDBPyConnection,
    changed: list[str],
    changed_bands: pa.Table,
    settings: DedupSettings,
    known: dict[str, TextFeatures],
    features: Callable[[list[str]], dict[str, TextFeatures]],
    span: tuple[datetime, datetime],
) -> None:
    """Find and verify the pairs of changed articles with every article signed so far; store the kept ones.

    The changed articles' band keys come from memory, so each chunk scans the stored bands once, and of them only
    those dated within `span` (or undated): a pair further apart is no copy (see `within`)."""
    window = f"INTERVAL {int(settings.window_days)} DAY" if settings.window_days is not None else None
    within = (
        f"(x.published_at IS NULL OR y.published_at IS NULL OR abs(epoch(x.published_at) - epoch(y.published_at))"
        f" <= epoch({window}))"
        if window
        else "TRUE"
    )
    with (
        registered(conn, "changed_ids", pa.table({"article_id": changed})),
        registered(conn, "changed_bands", changed_bands),
    ):
        candidates = _candidates(conn, settings, within, span)
    verified = verify_candidates(candidates, settings, known, features, _BATCH)
    if verified:
        staged = pa.table(
            {
                "article_id": [v[0] for v in verified],
                "other_id": [v[1] for v in verified],
                "kind": [v[2] for v in verified],
                "jaccard": [v[3] for v in verified],
                "containment": [v[4] for v in verified],
            }
        )
        with registered(conn, "staged_pairs", staged):
            conn.execute(
                """INSERT INTO near_duplicates (article_id, other_id, kind, jaccard, containment)
                   SELECT DISTINCT ON (article_id, other_id) article_id, other_id, kind, jaccard, containment
                   FROM staged_pairs s
                   WHERE NOT EXISTS (SELECT 1 FROM near_duplicates n
                                     WHERE n.article_id = s.article_id AND n.other_id = s.other_id)"""
            )


def _candidates(
    conn: duckdb.DuckDBPyConnection, settings: DedupSettings, within: str, span: tuple[datetime, datetime]
) -> list[tuple[str, str, str]]:
    """(a, b, kind) pairs to verify, a < b: the changed articles' LSH band matches whose MinHash estimates come
    near a threshold, their exact text matches (within the window, like near matches) and their URL matches.
    Reads the views changed_ids and changed_bands. Articles, bands and signatures are read within `span` (or
    undated) only, so the cost follows the window, not the warehouse: a changed article is in the span, so a pair
    within the window has both its articles there (one outside it is not within); a URL match, which ignores the
    window, reads every stored URL."""
    return conn.execute(
        f"""WITH near_articles AS (
                SELECT article_id, content_hash, url, published_at FROM articles WHERE published_at BETWEEN $lo AND $hi
                UNION ALL
                SELECT article_id, content_hash, url, published_at FROM articles WHERE published_at IS NULL
            ), pairs AS (
                SELECT n.article_id AS a, o.article_id AS b, 'near' AS kind
                FROM changed_bands n JOIN (SELECT band, band_key, article_id FROM dedup_bands
                                           WHERE published_at BETWEEN $lo AND $hi
                                           UNION ALL
                                           SELECT band, band_key, article_id FROM dedup_bands
                                           WHERE published_at IS NULL) o USING (band, band_key)
                WHERE n.article_id <> o.article_id
                UNION
                SELECT n.article_id, o.article_id, 'exact_text'
                FROM near_articles n JOIN near_articles o USING (content_hash)
                WHERE n.article_id IN (SELECT article_id FROM changed_ids) AND n.article_id <> o.article_id
                UNION
                SELECT n.article_id, o.article_id, 'exact_url' FROM near_articles n JOIN articles o USING (url)
                WHERE n.article_id IN (SELECT article_id FROM changed_ids) AND n.article_id <> o.article_id
            ), ordered AS (
                SELECT least(a, b) AS a, greatest(a, b) AS b, min(kind) AS kind FROM pairs GROUP BY ALL
            ), signed AS (
                SELECT article_id, shingle_count, signature FROM dedup_signatures WHERE published_at BETWEEN $lo AND $hi
                UNION ALL
                SELECT article_id, shingle_count, signature FROM dedup_signatures WHERE published_at IS NULL
            ), estimated AS (
                SELECT p.*, len(list_filter(list_zip(sx.signature, sy.signature), v -> v[1] = v[2]))
                            / len(sx.signature) AS j,
                       sx.shingle_count AS na, sy.shingle_count AS nb
                FROM ordered p
                LEFT JOIN signed sx ON sx.article_id = p.a
                LEFT JOIN signed sy ON sy.article_id = p.b
            )
            SELECT p.a, p.b, p.kind FROM estimated p
            LEFT JOIN near_articles x ON x.article_id = p.a LEFT JOIN near_articles y ON y.article_id = p.b
            WHERE p.kind = 'exact_url' OR (x.article_id IS NOT NULL AND y.article_id IS NOT NULL AND {within} AND (
                  p.kind = 'exact_text' OR p.j >= $jaccard
                  OR p.j * (p.na + p.nb) / ((1 + p.j) * greatest(1, least(p.na, p.nb))) >= $containment))
            ORDER BY p.a, p.b""",
        {
            "jaccard": settings.jaccard_threshold - settings.estimate_slack,
            "containment": settings.containment_threshold - settings.estimate_slack,
            "lo": span[0],
            "hi": span[1],
        },
    ).fetchall()


def assign_canonicals(
    conn: duckdb.DuckDBPyConnection,
    settings: DedupSettings = DEFAULT_SETTINGS,
    parallel_map: ParallelMap = map,
    touched: Iterable[str] | None = None,
) -> None:
    """Set articles.duplicate_of from the stored pairs, in canonical order: published, else first ingested.

    An article's canonical depends only on the pairs of its group (the articles linked to it through pairs), so
    when `touched` names the articles whose pairs or date changed, only their groups are chosen again, with the
    same result as choosing over every pair (None: every group)."""
    scope = "TRUE"
    if touched is not None:
        group = _groups_of(conn, set(touched))
        conn.execute("CREATE OR REPLACE TEMP TABLE canonical_scope (article_id VARCHAR)")
        with registered(conn, "staged_scope", pa.table({"article_id": pa.array(sorted(group), pa.string())})):
            conn.execute("INSERT INTO canonical_scope SELECT article_id FROM staged_scope")
        scope = "article_id IN (SELECT article_id FROM canonical_scope)"
    pairs = conn.execute(
        f"SELECT article_id, other_id, greatest(jaccard, containment) FROM near_duplicates WHERE {scope}"
    ).fetchall()
    order = {
        row[0]: OrderKey(row[1], row[2], row[0], row[3])
        for row in conn.execute(
            f"""SELECT article_id, published_at, word_count, first_ingested_at FROM articles
                WHERE {scope} AND article_id IN (SELECT article_id FROM near_duplicates WHERE {scope}
                                                 UNION SELECT other_id FROM near_duplicates WHERE {scope})"""
        ).fetchall()
    }
    canonical = choose_canonicals(order, pairs, _chain_check(conn, settings, order, parallel_map))
    staged = pa.table(
        {"article_id": list(canonical), "canonical": list(canonical.values())},
        schema=pa.schema([("article_id", pa.string()), ("canonical", pa.string())]),
    )
    with registered(conn, "staged_canonicals", staged):
        conn.execute(
            f"""UPDATE articles a SET duplicate_of = c.canonical
                FROM (SELECT a.article_id, s.canonical FROM articles a
                      LEFT JOIN staged_canonicals s USING (article_id) WHERE {scope}) c
                WHERE a.article_id = c.article_id AND a.duplicate_of IS DISTINCT FROM c.canonical"""
        )
    if touched is not None:
        conn.execute("DROP TABLE canonical_scope")


def _groups_of(conn: duckdb.DuckDBPyConnection, articles: set[str]) -> set[str]:
    """The articles linked to these through stored pairs (these included), a step of links per query."""
    found, frontier = set(articles), set(articles)
    while frontier:
        with registered(conn, "frontier", pa.table({"article_id": pa.array(sorted(frontier), pa.string())})):
            rows = conn.execute(
                """SELECT other_id FROM near_duplicates WHERE article_id IN (SELECT article_id FROM frontier)
                   UNION SELECT article_id FROM near_duplicates WHERE other_id IN (SELECT article_id FROM frontier)"""
            ).fetchall()
        frontier = {row[0] for row in rows} - found
        found |= frontier
    return found


def _chain_check(
    conn: duckdb.DuckDBPyConnection, settings: DedupSettings, order: dict[str, OrderKey], parallel_map: ParallelMap
) -> Callable[[str, str, str], bool]:
    """confirm(article, via, canonical) for choose_canonicals: the article and the canonical are published within
    the window and confirms_chain holds. Texts are read as asked, at most 2,000 kept."""
    cache: dict[str, TextFeatures] = {}
    window = timedelta(days=settings.window_days) if settings.window_days is not None else None

    def confirm(article: str, via: str, canonical: str) -> bool:
        published = order[article].published_at, order[canonical].published_at
        if window is not None and None not in published and abs(published[0] - published[1]) > window:
            return False
        missing = [i for i in (article, via, canonical) if i not in cache]
        if missing:
            if len(cache) > 2_000:
                cache.clear()
                missing = [article, via, canonical]
            cache.update(_features_of_texts(conn, missing, settings.minhash, parallel_map))
        return confirms_chain(cache[article], cache[via], cache[canonical], settings)

    return confirm
