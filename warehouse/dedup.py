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
from typing import NamedTuple

import duckdb
import numpy as np
import pyarrow as pa

from similarity.duplicates import DedupSettings, OrderKey, choose_canonicals, confirms_chain, verify_candidates
from similarity.minhash import MinHashParams, band_keys, minhash_signatures, shingle_hashes
from similarity.slots import TextFeatures
from warehouse.changes import (
    CHANGED_IDS,
    UNDATED,
    ChangeScope,
    change_scope,
    compare_all,
    finish_update,
    record_changes,
    start_update,
)
from warehouse.db import transaction
from warehouse.staging import articles_by_id, date_filter, registered
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
    is finished by the next; any prefix of the steps followed by a full update gives the same tables. The articles
    looked at are those in the change record (warehouse/changes.py), consumed when the stories commit."""
    update_near_duplicates(conn, settings, parallel_map)
    with transaction(conn):
        assign_stories(conn, settings, parallel_map)
        finish_update(conn)


def dedup_is_current(conn: duckdb.DuckDBPyConnection, settings: DedupSettings = DEFAULT_SETTINGS) -> bool:
    """True when no change waits in the change record, no update was cut short, no article's media changed since
    the stories were assigned, the settings are those stored, and as many signatures as articles are stored (an
    article deleted or added with SQL): no dedup work is pending. Reads no row of `articles`."""
    return conn.execute(
        """SELECT NOT EXISTS (SELECT 1 FROM dedup_changes)
                  AND NOT EXISTS (SELECT 1 FROM dedup_pending)
                  AND NOT EXISTS (SELECT 1 FROM media_changes)
                  AND (SELECT count(*) FROM articles) = (SELECT count(*) FROM dedup_signatures)
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
    is a transaction; `dedup_pending` gets a row in the first (update_duplicates clears it). The articles compared
    with their signatures are those in the change record, unless the update must compare every article
    (warehouse/changes.py)."""
    with transaction(conn):
        every = start_update(conn)
        if _forget_other_settings(conn, settings):
            every = True
            compare_all(conn)
        scope = change_scope(conn, every)
        rows = _stale_rows(conn, scope)
        if not every and not _counts_agree(conn, rows):
            compare_all(conn)  # an article deleted or added with SQL: the record does not describe the work
            scope = change_scope(conn, True)
            rows = _stale_rows(conn, scope)
        stale, touched = _forget_stale(conn, rows)
        if not scope.every:
            touched += [row[0] for row in conn.execute(f"SELECT article_id FROM {CHANGED_IDS}").fetchall()]
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
        # An update that compares every article (new settings, an upgrade, an edit with SQL) chooses all groups.
        assign_canonicals(conn, settings, parallel_map, None if scope.every else [*(row[0] for row in stale), *touched])


def _span(chunk: list[tuple], settings: DedupSettings) -> tuple[datetime, datetime]:
    """The publication dates a chunk's copies can have (its dates widened by the window); all dates when an
    article of the chunk is undated or there is no window."""
    dates = [row[2] for row in chunk]
    if settings.window_days is None or None in dates:
        return datetime(1, 1, 1), datetime(9999, 12, 31)
    window = timedelta(days=settings.window_days)
    return min(dates) - window, max(dates) + window


def _forget_other_settings(conn: duckdb.DuckDBPyConnection, settings: DedupSettings) -> bool:
    """Drop signatures, bands and pairs computed with other settings or hashing, so all are recomputed; True when
    it dropped any. A warehouse's first update has none (its articles are in the record, or their counts disagree),
    so a run's near-duplicate passes between loads go on from the record from the first."""
    fingerprint = settings.fingerprint()
    stored = conn.execute("SELECT fingerprint FROM dedup_settings").fetchall()
    if stored == [(fingerprint,)]:
        return False
    state = ("dedup_signatures", "dedup_bands", "near_duplicates")
    dropped = conn.execute("SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {table})" for table in state)).fetchone()[0]
    for table in (*state, "dedup_settings"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("INSERT INTO dedup_settings (fingerprint) VALUES (?)", [fingerprint])
    return bool(dropped)


class _Stale(NamedTuple):
    """An article whose signature is missing, stale, undated or of a deleted article (see _stale_rows)."""

    article_id: str
    content_hash: str | None  # None: the article is gone
    published_at: datetime | None
    first_ingested_at: datetime | None
    signed: bool
    current: bool  # the signature is of the article's text
    signed_at: datetime | None  # the signature's date (UNDATED read back as None)


def _stale_rows(conn: duckdb.DuckDBPyConnection, scope: ChangeScope) -> list[_Stale]:
    """The articles of the scope whose signature is missing, of another text or of another date, and the signatures
    of the scope whose article is gone, in publication order. Read by id and date ranges (the scope's), so a run
    reads its changed articles' rows, not a narrow column of every row."""
    signatures = scope.where(by="published_at", undated=UNDATED)
    rows = conn.execute(
        f"""WITH a AS (SELECT article_id, content_hash, published_at, first_ingested_at FROM articles
                       WHERE {scope.where()}),
                 s AS (SELECT article_id, content_hash,
                              CASE WHEN published_at = {UNDATED} THEN NULL ELSE published_at END AS published_at
                       FROM dedup_signatures WHERE {signatures})
            SELECT coalesce(a.article_id, s.article_id), a.content_hash, a.published_at, a.first_ingested_at,
                   s.article_id IS NOT NULL, s.content_hash IS NOT DISTINCT FROM a.content_hash, s.published_at
            FROM a FULL JOIN s USING (article_id)
            WHERE a.article_id IS NULL OR s.article_id IS NULL OR s.content_hash <> a.content_hash
               OR s.published_at IS DISTINCT FROM a.published_at
            ORDER BY a.published_at NULLS LAST, 1"""
    ).fetchall()
    return [_Stale(*row) for row in rows]


def _counts_agree(conn: duckdb.DuckDBPyConnection, rows: list[_Stale]) -> bool:
    """Whether the stored articles and signatures differ in number by the record's new articles less its deleted
    ones, as they do when every change to `articles` went through the record (a count reads no row)."""
    articles, signatures = conn.execute(
        "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM dedup_signatures)"
    ).fetchone()
    new = sum(1 for row in rows if row.content_hash is not None and not row.signed)
    deleted = sum(1 for row in rows if row.content_hash is None)
    return articles - signatures == new - deleted


def _forget_stale(conn: duckdb.DuckDBPyConnection, rows: list[_Stale]) -> tuple[list[tuple], list[str]]:
    """(article_id, content_hash, published_at, first_ingested_at) of the new or edited articles among `rows`, after
    dropping the signatures, bands and pairs of the edited and deleted ones and updating the date of the redated
    ones; and the articles whose canonical may change besides them: those paired with an edited or deleted article,
    and those whose publication date changed.

    A new article has none to drop, so a run that only adds articles deletes nothing; the deletes and date updates
    read the signatures and bands of the forgotten articles' dates only (64 band rows per article: 64 million at
    1,000,000 articles)."""
    stale = [
        (row.article_id, row.content_hash, row.published_at, row.first_ingested_at)
        for row in rows
        if row.content_hash is not None and not row.current
    ]
    redated = [row for row in rows if row.content_hash is not None and row.current]
    forget = [row for row in rows if row.signed and not row.current]
    touched = [row.article_id for row in redated]
    if redated:
        staged = pa.table(
            {"article_id": touched, "published_at": pa.array([row.published_at for row in redated], pa.timestamp("us"))}
        )
        with registered(conn, "redated", staged):
            for table in ("dedup_signatures", "dedup_bands"):
                conn.execute(
                    f"""UPDATE {table} s SET published_at = coalesce(r.published_at, {UNDATED}) FROM redated r
                        WHERE s.article_id = r.article_id
                          AND {date_filter([row.signed_at for row in redated], "s.published_at", UNDATED)}"""
                )
    if forget:
        with registered(
            conn, "forget_ids", pa.table({"article_id": pa.array([row.article_id for row in forget], pa.string())})
        ):
            partners = """SELECT other_id FROM near_duplicates WHERE article_id IN (SELECT article_id FROM forget_ids)
                          UNION SELECT article_id FROM near_duplicates
                          WHERE other_id IN (SELECT article_id FROM forget_ids)"""
            touched += [row[0] for row in conn.execute(partners).fetchall()]
            # In the record too (claimed), so that an update cut short after this transaction still knows them.
            record_changes(
                conn,
                f"""SELECT article_id, published_at, first_ingested_at FROM articles
                    WHERE article_id IN ({partners}) AND article_id NOT IN (SELECT article_id FROM forget_ids)""",
                taken=True,
            )
            dated = date_filter([row.signed_at for row in forget], "published_at", UNDATED)
            for table, columns, where in (
                ("dedup_signatures", ("article_id",), dated),
                ("dedup_bands", ("article_id",), dated),
                ("near_duplicates", ("article_id", "other_id"), "TRUE"),
            ):
                gone = " OR ".join(f"{column} IN (SELECT article_id FROM forget_ids)" for column in columns)
                conn.execute(f"DELETE FROM {table} WHERE ({gone}) AND {where}")
    return stale, touched


def forget_signatures_of(conn: duckdb.DuckDBPyConnection, article_ids: list[str]) -> int:
    """Note these articles in the change record with their signatures marked stale, so the next update forgets
    their signatures, bands and pairs and computes them again, as for an edit (the rededup backfill); in the
    caller's transaction. Returns how many articles there are."""
    with registered(conn, "rededup_ids", pa.table({"article_id": pa.array(sorted(set(article_ids)), pa.string())})):
        record_changes(
            conn,
            """SELECT article_id, published_at, first_ingested_at FROM articles
               WHERE article_id IN (SELECT article_id FROM rededup_ids)""",
        )
        conn.execute(
            "UPDATE dedup_signatures SET content_hash = '' WHERE article_id IN (SELECT article_id FROM rededup_ids)"
        )
        return conn.execute(
            "SELECT count(*) FROM articles WHERE article_id IN (SELECT article_id FROM rededup_ids)"
        ).fetchone()[0]


def _features_of_texts(
    conn: duckdb.DuckDBPyConnection,
    article_ids: list[str],
    params: MinHashParams,
    parallel_map: ParallelMap,
    ingested: dict[str, datetime] | None = None,
) -> dict[str, TextFeatures]:
    """article_id -> TextFeatures (shingle sets computed with `parallel_map`), from the stored texts; the outlet
    is the host of the canonical URL, else of the source URI. `ingested`: first_ingested_at of the ids the caller
    knows, where their rows are read (the others' dates are read first, a narrow scan of every row)."""
    columns = """article_id, text,
                 regexp_extract(coalesce(url, source_uri), '^[A-Za-z][A-Za-z0-9+.-]*://(?:www[.])?([^/:?#]*)', 1)"""
    ingested = ingested or {}
    dated = [i for i in article_ids if i in ingested]
    undated = [i for i in article_ids if i not in ingested]
    rows = articles_by_id(conn, dated, columns, [ingested[i] for i in dated], "first_ingested_at") if dated else []
    if undated:
        rows += articles_by_id(conn, undated, columns)
    sets = parallel_map(partial(shingle_hashes, params=params), [row[1] for row in rows])
    return {
        article_id: TextFeatures(shingles, text, outlet.lower())
        for (article_id, text, outlet), shingles in zip(rows, sets, strict=True)
    }


def _store_signatures(
    conn: duckdb.DuckDBPyConnection,
    chunk: list[tuple],
    params: MinHashParams,
    features: Callable[..., dict[str, TextFeatures]],
) -> tuple[dict[str, TextFeatures], pa.Table]:
    """Signatures and band keys of a chunk of stale articles (article_id, content_hash, published_at,
    first_ingested_at); returns their features and band keys."""
    ids = [row[0] for row in chunk]
    by_id = features(ids, ingested={row[0]: row[3] for row in chunk})
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
        values = columns.replace("published_at", f"coalesce(published_at, {UNDATED})")
        with registered(conn, "staged", staged):
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {values} FROM staged")
    return {article_id: by_id[article_id] for article_id in ids}, staged_bands


def _store_pairs(
    conn: duckdb.DuckDBPyConnection,
    changed: list[str],
    changed_bands: pa.Table,
    settings: DedupSettings,
    known: dict[str, TextFeatures],
    features: Callable[..., dict[str, TextFeatures]],
    span: tuple[datetime, datetime],
) -> None:
    """Find and verify the pairs of changed articles with every article signed so far; store the kept ones.

    The changed articles' band keys come from memory, so each chunk scans the stored bands once, and of them only
    those dated within `span` (or undated): a pair further apart is no copy (see `within`). The candidates' texts
    are read by their first_ingested_at, which the candidate query gives."""
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
        rows = _candidates(conn, settings, within, span)
    ingested = {article: when for row in rows for article, when in ((row[0], row[3]), (row[1], row[4])) if when}
    candidates = [row[:3] for row in rows]
    verified = verify_candidates(candidates, settings, known, partial(features, ingested=ingested), _BATCH)
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
) -> list[tuple[str, str, str, datetime | None, datetime | None]]:
    """(a, b, kind, a's first_ingested_at, b's) of the pairs to verify, a < b: the changed articles' LSH band
    matches whose MinHash estimates come near a threshold, their exact text matches (within the window, like near
    matches) and their URL matches. Reads the views changed_ids and changed_bands. Articles, bands and signatures
    are read within `span` (or undated: those of the state dated 'infinity', a range the scan skips where there is
    none) only, so the cost follows the window, not the warehouse: a changed article is in the span, so a pair
    within the window has both its articles there (one outside it is not within); a URL match, which ignores the
    window, reads every stored URL (a narrow column: there is no index to look a few up)."""
    return conn.execute(
        f"""WITH near_articles AS (
                SELECT article_id, content_hash, url, published_at, first_ingested_at FROM articles
                WHERE published_at BETWEEN $lo AND $hi
                UNION ALL
                SELECT article_id, content_hash, url, published_at, first_ingested_at FROM articles
                WHERE published_at IS NULL
            ), changed_articles AS (
                SELECT * FROM near_articles WHERE article_id IN (SELECT article_id FROM changed_ids)
            ), pairs AS (
                SELECT n.article_id AS a, o.article_id AS b, 'near' AS kind
                FROM changed_bands n JOIN (SELECT band, band_key, article_id FROM dedup_bands
                                           WHERE published_at BETWEEN $lo AND $hi
                                           UNION ALL
                                           SELECT band, band_key, article_id FROM dedup_bands
                                           WHERE published_at = {UNDATED}) o USING (band, band_key)
                WHERE n.article_id <> o.article_id
                UNION
                SELECT n.article_id, o.article_id, 'exact_text'
                FROM changed_articles n JOIN near_articles o USING (content_hash)
                WHERE n.article_id <> o.article_id
                UNION
                SELECT n.article_id, o.article_id, 'exact_url'
                FROM changed_articles n JOIN (SELECT article_id, url FROM articles
                                              WHERE url IN (SELECT url FROM changed_articles)) o USING (url)
                WHERE n.article_id <> o.article_id
            ), ordered AS (
                SELECT least(a, b) AS a, greatest(a, b) AS b, min(kind) AS kind FROM pairs GROUP BY ALL
            ), paired AS (
                SELECT a AS article_id FROM ordered UNION SELECT b FROM ordered
            ), signed AS (  -- the paired articles' only: the window's signatures are 90,000 lists of 128 values
                SELECT article_id, shingle_count, signature FROM dedup_signatures
                WHERE published_at BETWEEN $lo AND $hi AND article_id IN (SELECT article_id FROM paired)
                UNION ALL
                SELECT article_id, shingle_count, signature FROM dedup_signatures
                WHERE published_at = {UNDATED} AND article_id IN (SELECT article_id FROM paired)
            ), estimated AS (
                SELECT p.*, len(list_filter(list_zip(sx.signature, sy.signature), v -> v[1] = v[2]))
                            / len(sx.signature) AS j,
                       sx.shingle_count AS na, sy.shingle_count AS nb
                FROM ordered p
                LEFT JOIN signed sx ON sx.article_id = p.a
                LEFT JOIN signed sy ON sy.article_id = p.b
            )
            SELECT p.a, p.b, p.kind, x.first_ingested_at, y.first_ingested_at FROM estimated p
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
    """Set articles.duplicate_of from the stored pairs, in canonical order: published, else first ingested; the
    articles whose duplicate_of changes go in the change record, for the stories.

    An article's canonical depends only on the pairs of its group (the articles linked to it through pairs), so
    when `touched` names the articles whose pairs or date changed, only their groups are chosen again, with the
    same result as choosing over every pair (None: every group)."""
    columns = "article_id, published_at, word_count, first_ingested_at, duplicate_of"
    if touched is None:
        pairs = conn.execute(
            "SELECT article_id, other_id, greatest(jaccard, containment) FROM near_duplicates"
        ).fetchall()
        rows = conn.execute(
            f"""SELECT {columns} FROM articles
                WHERE duplicate_of IS NOT NULL OR article_id IN (SELECT article_id FROM near_duplicates
                                                                 UNION SELECT other_id FROM near_duplicates)"""
        ).fetchall()
    else:
        group, pairs = _groups_of(conn, set(touched))
        with registered(conn, "canonical_scope", pa.table({"article_id": pa.array(sorted(group), pa.string())})):
            rows = conn.execute(
                f"SELECT {columns} FROM articles WHERE article_id IN (SELECT article_id FROM canonical_scope)"
            ).fetchall()
    paired = {article for pair in pairs for article in pair[:2]}
    order = {row[0]: OrderKey(row[1], row[2], row[0], row[3]) for row in rows if row[0] in paired}
    canonical = choose_canonicals(order, pairs, _chain_check(conn, settings, order, parallel_map))
    changed = [row for row in rows if row[4] != canonical.get(row[0])]
    if not changed:
        return
    staged = pa.table(
        {
            "article_id": pa.array([row[0] for row in changed], pa.string()),
            "canonical": pa.array([canonical.get(row[0]) for row in changed], pa.string()),
            "published_at": pa.array([row[1] for row in changed], pa.timestamp("us")),
            "first_ingested_at": pa.array([row[3] for row in changed], pa.timestamp("us")),
        }
    )
    with registered(conn, "staged_canonicals", staged):
        conn.execute(
            f"""UPDATE articles a SET duplicate_of = c.canonical FROM staged_canonicals c
                WHERE a.article_id = c.article_id
                  AND {date_filter([row[3] for row in changed], "a.first_ingested_at")}"""
        )
        record_changes(conn, "SELECT article_id, published_at, first_ingested_at FROM staged_canonicals", taken=True)


def _groups_of(conn: duckdb.DuckDBPyConnection, articles: set[str]) -> tuple[set[str], list[tuple[str, str, float]]]:
    """The articles linked to these through stored pairs (these included), a step of links per query, and the pairs
    of those articles (article_id, other_id, similarity)."""
    found, frontier = set(articles), set(articles)
    pairs: dict[tuple[str, str], float] = {}
    while frontier:
        with registered(conn, "frontier", pa.table({"article_id": pa.array(sorted(frontier), pa.string())})):
            rows = conn.execute(
                """SELECT article_id, other_id, greatest(jaccard, containment) FROM near_duplicates
                   WHERE article_id IN (SELECT article_id FROM frontier)
                      OR other_id IN (SELECT article_id FROM frontier)"""
            ).fetchall()
        pairs.update(((a, b), score) for a, b, score in rows)
        frontier = {article for a, b, _ in rows for article in (a, b)} - found
        found |= frontier
    return found, [(a, b, score) for (a, b), score in sorted(pairs.items())]


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
            ingested = {i: order[i].first_seen for i in missing if i in order}
            cache.update(_features_of_texts(conn, missing, settings.minhash, parallel_map, ingested))
        return confirms_chain(cache[article], cache[via], cache[canonical], settings)

    return confirm
