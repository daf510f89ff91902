"""Transactional, idempotent batch loads of articles and rejects, and the runs log."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from extractors import Article, Reject
from warehouse.changes import record_changes
from warehouse.db import transaction
from warehouse.search import index_articles
from warehouse.staging import registered, table_schema

# The staged tables take their columns and types from the live tables (the migrations), less the columns the
# warehouse sets itself; each staged column is read from the record's attribute of the same name, so a migration
# that adds a column the records do not carry fails the first load, naming it.
_SET_BY_WAREHOUSE = {
    "articles": ("duplicate_of", "story_id", "first_ingested_at", "ingested_at", "run_id"),
    "rejects": ("run_id", "at"),
    "fetches": ("run_id",),
}
# Article columns whose change does not make a new version (bump ingested_at): the keys, and how the bytes were
# read rather than what they say. Every other staged column is content.
_NOT_CONTENT = ("article_id", "source_uri", "raw_sha256", "extractor_version")


@dataclass(frozen=True)
class RejectedDocument:
    source_uri: str
    stage: str
    reject: Reject


@dataclass(frozen=True)
class FetchRecord:
    """A fetched body worth keeping: new or changed content, or new validators."""

    url: str
    final_url: str
    status: int
    redirects: tuple[str, ...]
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    body_gzip: bytes
    body_bytes: int
    raw_sha256: str
    listed_published_at: datetime | None
    source_name: str | None
    fetched_at: datetime
    attempts: int
    archive: str | None = None  # provenance of a response read from an archive (migration 011), else None
    archive_uri: str | None = None
    archive_record_id: str | None = None
    archive_offset: int | None = None
    archived_at: datetime | None = None


@dataclass
class LoadCounts:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0

    def __add__(self, other: LoadCounts) -> LoadCounts:
        return LoadCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _staged_schema(conn: duckdb.DuckDBPyConnection, table: str) -> pa.Schema:
    return table_schema(conn, table, leave_out=_SET_BY_WAREHOUSE[table])


def _staged_table(schema: pa.Schema, records: list, table: str) -> pa.Table:
    """One row per record, a column per field of `schema`, read from the record's attribute of that name (a tuple
    becomes a list)."""
    missing = [name for name in schema.names if records and not hasattr(records[0], name)]
    if missing:
        raise TypeError(
            f"{table} has column(s) {', '.join(missing)} that {type(records[0]).__name__} does not carry: give the"
            f" record the field, or list the column in warehouse/load.py _SET_BY_WAREHOUSE"
        )
    columns = {name: [getattr(record, name) for record in records] for name in schema.names}
    for name, field in zip(schema.names, schema, strict=True):
        if pa.types.is_list(field.type):
            columns[name] = [None if value is None else list(value) for value in columns[name]]
    return pa.table(columns, schema=schema)


def _articles_table(conn: duckdb.DuckDBPyConnection, articles: list[Article]) -> pa.Table:
    return _staged_table(_staged_schema(conn, "articles"), articles, "articles")


@dataclass(frozen=True)
class _RejectRow:
    source_uri: str
    stage: str
    reason: str
    detail: str | None


def _rejects_table(conn: duckdb.DuckDBPyConnection, rejects: list[RejectedDocument]) -> pa.Table:
    rows = [_RejectRow(r.source_uri, r.stage, r.reject.reason, r.reject.detail) for r in rejects]
    return _staged_table(_staged_schema(conn, "rejects"), rows, "rejects")


def load_batch(
    conn: duckdb.DuckDBPyConnection,
    articles: list[Article],
    rejects: list[RejectedDocument],
    run_id: str,
    unchanged: int = 0,
    fetches: list[FetchRecord] = (),
) -> LoadCounts:
    """Upsert one batch in one transaction: new rows inserted, changed rows updated in place and (re)indexed for
    search.

    `unchanged` counts documents the caller skipped because their bytes were already loaded;
    `fetches` are stored in the same transaction, so a crash never keeps a body without its article.
    """
    now = utc_now()
    unique = list({a.article_id: a for a in articles}.values())  # one document fetched twice in a batch
    unchanged += len(articles) - len(unique)
    staged = _articles_table(conn, unique)
    staged_rejects = _rejects_table(conn, rejects)
    content = [c for c in staged.column_names if c not in _NOT_CONTENT]
    changed = " OR ".join(f"s.{c} IS DISTINCT FROM a.{c}" for c in content)
    assignments = ", ".join(f"{c} = s.{c}" for c in content)
    columns = ", ".join(staged.column_names)
    with (
        transaction(conn),
        registered(conn, "staged", staged),
        registered(conn, "staged_rejects", staged_rejects),
    ):
        # Only article_id is scanned to find the rows already loaded; their other columns (text included) are
        # read only when there are some, so a batch of new documents costs the same at any warehouse size.
        conn.execute(
            """CREATE OR REPLACE TEMP TABLE staged_known AS
               SELECT article_id FROM articles WHERE article_id IN (SELECT article_id FROM staged)"""
        )
        known = conn.execute("SELECT count(*) FROM staged_known").fetchone()[0]
        compared = (
            f"""SELECT s.article_id, CASE WHEN a.article_id IS NULL THEN 'new'
                                         WHEN {changed} THEN 'changed' ELSE 'unchanged' END AS change,
                       a.published_at AS published_before, a.first_ingested_at
                FROM staged s LEFT JOIN (SELECT * FROM articles WHERE article_id IN (SELECT * FROM staged_known)) a
                USING (article_id)"""
            if known
            else """SELECT article_id, 'new' AS change, NULL::TIMESTAMP AS published_before,
                           NULL::TIMESTAMP AS first_ingested_at FROM staged"""
        )
        conn.execute(f"CREATE OR REPLACE TEMP TABLE staged_changes AS {compared}")
        conn.execute(
            f"""INSERT INTO articles ({columns}, first_ingested_at, ingested_at, run_id)
               SELECT {", ".join("s." + c for c in staged.column_names)}, ?, ?, ? FROM staged s
               JOIN staged_changes c USING (article_id) WHERE c.change = 'new'""",
            [now, now, run_id],
        )
        if known:
            conn.execute(
                f"""UPDATE articles a SET {assignments}, raw_sha256 = s.raw_sha256,
                       extractor_version = s.extractor_version, ingested_at = ?, run_id = ?
                    FROM staged s JOIN staged_changes c USING (article_id)
                    WHERE a.article_id = s.article_id AND c.change = 'changed'""",
                [now, run_id],
            )
            conn.execute(
                """UPDATE articles a SET raw_sha256 = s.raw_sha256, extractor_version = s.extractor_version
                   FROM staged s JOIN staged_changes c USING (article_id)
                   WHERE a.article_id = s.article_id AND c.change = 'unchanged'
                     AND (a.raw_sha256, a.extractor_version) IS DISTINCT FROM (s.raw_sha256, s.extractor_version)"""
            )
        # New and changed articles go in the change record (warehouse/changes.py), a changed one with its former
        # date too: the next dedup update looks at them, not at every article.
        record_changes(
            conn,
            """SELECT s.article_id, s.published_at, coalesce(c.first_ingested_at, ?::TIMESTAMP) AS first_ingested_at
               FROM staged s JOIN staged_changes c USING (article_id) WHERE c.change <> 'unchanged'
               UNION ALL
               SELECT article_id, published_before, first_ingested_at FROM staged_changes WHERE change = 'changed'""",
            [now],
        )
        conn.execute("DELETE FROM rejects WHERE source_uri IN (SELECT source_uri FROM staged)")
        conn.execute(
            """INSERT INTO rejects (source_uri, stage, reason, detail, run_id, "at")
               SELECT DISTINCT ON (source_uri, stage, reason) source_uri, stage, reason, detail, ?, ?
               FROM staged_rejects s
               WHERE NOT EXISTS (SELECT 1 FROM rejects r WHERE (r.source_uri, r.stage, r.reason)
                                                           = (s.source_uri, s.stage, s.reason))""",
            [run_id, now],
        )
        if fetches:
            _store_fetches(conn, fetches, run_id)
        _replace_media(conn, unique)
        loaded, updated, same = conn.execute(
            """SELECT count(*) FILTER (change = 'new'), count(*) FILTER (change = 'changed'),
                      count(*) FILTER (change = 'unchanged') FROM staged_changes"""
        ).fetchone()
        if loaded or updated:
            # Texts from the batch and the ingested_at just written, not read back from `articles` (a scan of
            # every stored text).
            index_articles(
                conn,
                """SELECT s.article_id, ?::TIMESTAMP AS ingested_at, s.title, s.text FROM staged s
                   JOIN staged_changes c USING (article_id) WHERE c.change <> 'unchanged'""",
                [now],
            )
    return LoadCounts(loaded, updated, same + unchanged, 0, len(rejects))


def delete_articles(conn: duckdb.DuckDBPyConnection, article_ids: list[str]) -> int:
    """Delete these articles and what hangs off them (media, links, monitor matches, search index rows), in one
    transaction that notes them in the change record, so the next dedup update forgets their signatures, pairs
    and story state and chooses their partners' canonical copies again. Their stored responses (`fetches`) are kept.
    Returns how many articles were deleted. (A DELETE written in SQL is noticed too, by the counts the update
    compares, at the cost of one update that compares every article.)"""
    ids = pa.table({"article_id": pa.array(sorted(set(article_ids)), pa.string())})
    with transaction(conn), registered(conn, "deleted_ids", ids):
        gone = "article_id IN (SELECT article_id FROM deleted_ids)"
        record_changes(conn, f"SELECT article_id, published_at, first_ingested_at FROM articles WHERE {gone}")
        deleted = conn.execute(f"SELECT count(*) FROM articles WHERE {gone}").fetchone()[0]
        tables = ["articles", "article_media", "article_links", "monitor_matches", "media_changes"]
        tables += [
            f"search.{name}"
            for (name,) in conn.execute(
                """SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()
                   AND schema_name = 'search' AND table_name IN ('documents', 'postings')"""
            ).fetchall()
        ]
        for table in tables:
            conn.execute(f"DELETE FROM {table} WHERE {gone}")
    return deleted


def _replace_media(conn: duckdb.DuckDBPyConnection, articles: list[Article]) -> None:
    """The batch's articles' media and links replace what their earlier versions carried (a re-extraction of an
    unchanged text fills them too): delete, then insert, in the batch's transaction."""
    media = [(a.article_id, m) for a in articles for m in a.media]
    links = [(a.article_id, link) for a in articles for link in a.links]
    ids = pa.table({"article_id": pa.array([a.article_id for a in articles], pa.string())})
    staged_media = pa.table(
        {
            "article_id": pa.array([i for i, _ in media], pa.string()),
            "platform": pa.array([m.platform for _, m in media], pa.string()),
            "media_id": pa.array([m.media_id for _, m in media], pa.string()),
            "url": pa.array([m.url for _, m in media], pa.string()),
            "kind": pa.array([m.kind for _, m in media], pa.string()),
        }
    )
    staged_links = pa.table(
        {
            "article_id": pa.array([i for i, _ in links], pa.string()),
            "url": pa.array([link.url for _, link in links], pa.string()),
            "host": pa.array([link.host for _, link in links], pa.string()),
            "anchor": pa.array([link.anchor for _, link in links], pa.string()),
        }
    )
    with (
        registered(conn, "staged_media_ids", ids),
        registered(conn, "staged_media", staged_media),
        registered(conn, "staged_links", staged_links),
    ):
        # An article loaded before whose media items change (its text may not: an edit that only embeds a video)
        # waits in media_changes for the story step, which joins stories by media.
        conn.execute(
            """INSERT INTO media_changes
               SELECT DISTINCT article_id FROM (
                   (SELECT article_id, platform, media_id FROM article_media
                    WHERE article_id IN (SELECT article_id FROM staged_media_ids)
                    EXCEPT SELECT article_id, platform, media_id FROM staged_media)
                   UNION ALL
                   (SELECT article_id, platform, media_id FROM staged_media
                    EXCEPT SELECT article_id, platform, media_id FROM article_media
                    WHERE article_id IN (SELECT article_id FROM staged_media_ids))
               ) m
               WHERE article_id IN (SELECT article_id FROM staged_changes WHERE change <> 'new')
                 AND article_id NOT IN (SELECT article_id FROM media_changes)"""
        )
        conn.execute("DELETE FROM article_media WHERE article_id IN (SELECT article_id FROM staged_media_ids)")
        conn.execute("DELETE FROM article_links WHERE article_id IN (SELECT article_id FROM staged_media_ids)")
        if media:
            conn.execute(
                """INSERT INTO article_media (article_id, platform, media_id, url, kind)
                   SELECT article_id, platform, media_id, url, kind FROM staged_media"""
            )
        if links:
            conn.execute(
                """INSERT INTO article_links (article_id, url, host, anchor)
                   SELECT article_id, url, host, anchor FROM staged_links"""
            )


def _store_fetches(conn: duckdb.DuckDBPyConnection, fetches: list[FetchRecord], run_id: str) -> None:
    staged = _staged_table(_staged_schema(conn, "fetches"), fetches, "fetches")
    columns = ", ".join(staged.column_names)
    with registered(conn, "staged_fetches", staged):
        conn.execute("DELETE FROM fetches WHERE url IN (SELECT url FROM staged_fetches)")  # one response per URL
        conn.execute(f"INSERT INTO fetches ({columns}, run_id) SELECT {columns}, ? FROM staged_fetches", [run_id])


def stored_fetches(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, str | None, str]]:
    """url -> (etag, last_modified, raw_sha256) of every stored fetch."""
    rows = conn.execute("SELECT url, etag, last_modified, raw_sha256 FROM fetches").fetchall()
    return {url: (etag, modified, sha) for url, etag, modified, sha in rows}


def known_documents(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """source_uri -> (raw_sha256, extractor_version) of every loaded article."""
    rows = conn.execute("SELECT source_uri, raw_sha256, extractor_version FROM articles").fetchall()
    return {uri: (raw, version) for uri, raw, version in rows}


def start_run(conn: duckdb.DuckDBPyConnection, run_id: str, flow_name: str, parameters: dict) -> None:
    """Record the run as running; a resumed run keeps its row and counts."""
    with transaction(conn):
        conn.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?", [run_id])
        conn.execute(
            """INSERT INTO runs (run_id, flow_name, started_at, status, parameters)
               SELECT ?, ?, ?, 'running', ? WHERE NOT EXISTS (SELECT 1 FROM runs WHERE run_id = ?)""",
            [run_id, flow_name, utc_now(), json.dumps(parameters, default=str), run_id],
        )


def count_run_duplicates(conn: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Articles this run loaded or changed that turned out to copy another one."""
    return conn.execute(
        "SELECT count(*) FROM articles WHERE run_id = ? AND duplicate_of IS NOT NULL", [run_id]
    ).fetchone()[0]


def finish_run(conn: duckdb.DuckDBPyConnection, run_id: str, status: str, seen: int, counts: LoadCounts) -> None:
    conn.execute(
        """UPDATE runs SET finished_at = ?, status = ?, seen = ?, loaded = ?, updated = ?, unchanged = ?,
                  duplicates = ?, rejected = ? WHERE run_id = ?""",
        [
            utc_now(),
            status,
            seen,
            counts.loaded,
            counts.updated,
            counts.unchanged,
            counts.duplicates,
            counts.rejected,
            run_id,
        ],
    )


RUN_COUNTS = ("seen", "loaded", "updated", "unchanged", "duplicates", "rejected")


def read_run(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict | None:
    """A run's row: its flow, status and counts, and the rejects it recorded first by `stage/reason`; None when
    the run never opened its row."""
    row = conn.execute(
        f"SELECT flow_name, status, {', '.join(RUN_COUNTS)} FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    if row is None:
        return None
    reasons = conn.execute(
        """SELECT stage || '/' || reason, count(*) FROM rejects WHERE run_id = ?
           GROUP BY ALL ORDER BY count(*) DESC, 1""",
        [run_id],
    ).fetchall()
    return {"flow": row[0], "status": row[1], **dict(zip(RUN_COUNTS, row[2:], strict=True)), "reasons": dict(reasons)}
