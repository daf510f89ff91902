"""The change record (table `dedup_changes`, migration 019): which articles changed since the last completed dedup
update, so a run's near-duplicates, canonical copies and stories look at those articles and their window only.

Comparing `articles` with the dedup and story state row by row (which articles have no signature of their text,
which signatures or stories lost their article, which article's story_id is not its story's) read a narrow column
or two of every row, 0.1-0.4 s a statement at 1,000,000 articles. Instead:

- every change to `articles` writes a row in its own transaction: load_batch (new and changed articles, the old date
  of a redated one), delete_articles, the rededup backfill (forget_signatures);
- a row keeps the article's publication date then, so the rows of its state are read by date ranges that let DuckDB
  skip the other row groups (a table without an index on article_id is otherwise read whole);
- an update claims the rows it starts with (`taken`), the canonical step adds the articles whose duplicate_of it
  changed, and the transaction that commits the stories deletes the claimed rows: a crash leaves them, and rows
  written by a load during the update wait for the next one.

An update cut short goes on from its record: the rows it claimed stay until its stories commit, and its first
transaction records (claimed) the articles paired with the ones it forgets, whose canonical copy may change. Where the
record may not describe the work, an update compares every article instead (`compare_all` on its `dedup_pending`
row, which the stories read): a warehouse upgraded with work pending or a row left by an older version, new settings,
or counts of articles and signatures that disagree with the record (an article deleted or inserted with SQL). An
edit made with SQL that changes `content_hash` without a load is not seen: the data check `dedup_changes_complete`
names such articles (re-deduplicate their day with `mediamon backfill --mode rededup`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from warehouse.staging import date_filter

CHANGED_IDS = "dedup_changed_ids"  # temp table: the recorded article ids, for the scope's joins
UNDATED = "'infinity'::TIMESTAMP"  # the date of an undated article's signature and bands (migration 020)


def record_changes(
    conn: duckdb.DuckDBPyConnection, rows: str, parameters: list | None = None, taken: bool = False
) -> None:
    """Note the articles the SQL query `rows` returns (article_id, published_at, first_ingested_at) as changed, in
    the caller's transaction. `taken`: written by the update under way, for its own later steps."""
    conn.execute(
        f"""INSERT INTO dedup_changes (article_id, published_at, first_ingested_at, taken)
            SELECT DISTINCT article_id, published_at, first_ingested_at, {bool(taken)} FROM ({rows})""",
        parameters or [],
    )


@dataclass(frozen=True)
class ChangeScope:
    """The articles an update step looks at: the recorded ones (ids in the temp table CHANGED_IDS; `published` and
    `ingested` every publication and first-ingest date the record gives them), or every article (`every`)."""

    every: bool
    published: frozenset[datetime | None] = frozenset()
    ingested: frozenset[datetime] = frozenset()

    def where(self, alias: str = "", by: str = "first_ingested_at", undated: str | None = None) -> str:
        """An SQL condition on a table with article_id and the date column `by` (first_ingested_at or
        published_at, `undated` its value for an undated article when not NULL): its rows of recorded articles, by
        id and by date ranges that let the scan skip the other row groups; TRUE when the scope is every article."""
        if self.every:
            return "TRUE"
        dates = self.ingested if by == "first_ingested_at" else self.published
        return (
            f"{alias}article_id IN (SELECT article_id FROM {CHANGED_IDS}) AND {date_filter(dates, alias + by, undated)}"
        )


def start_update(conn: duckdb.DuckDBPyConnection) -> bool:
    """In the update's first transaction: claim the recorded changes and note the update as pending, or go on with
    the one under way (cut short, or a run's near-duplicate pass between loads: its claimed rows, and the articles its
    first transaction found paired with forgotten ones, are in the record); True when it must compare every article
    (the update under way does, or a row left by an older version or an upgrade with work not recorded says so)."""
    conn.execute("UPDATE dedup_changes SET taken = true WHERE NOT taken")
    if conn.execute("SELECT count(*) FROM dedup_pending").fetchone()[0] == 0:
        conn.execute("INSERT INTO dedup_pending (since, compare_all) VALUES (now()::TIMESTAMP, false)")
    return compares_all(conn)


def compare_all(conn: duckdb.DuckDBPyConnection) -> None:
    """The update under way compares every article, and so do its stories."""
    conn.execute("UPDATE dedup_pending SET compare_all = true")


def compares_all(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the update under way compares every article (also when none is under way: a step run alone)."""
    row = conn.execute("SELECT count(*), bool_or(coalesce(compare_all, true)) FROM dedup_pending").fetchone()
    return row[0] == 0 or bool(row[1])


def change_scope(conn: duckdb.DuckDBPyConnection, every: bool) -> ChangeScope:
    """The recorded changes as a scope (their ids stored in the temp table CHANGED_IDS), or every article."""
    if every:
        return ChangeScope(True)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {CHANGED_IDS} AS SELECT DISTINCT article_id FROM dedup_changes")
    published = conn.execute("SELECT DISTINCT published_at FROM dedup_changes").fetchall()
    ingested = conn.execute("SELECT DISTINCT first_ingested_at FROM dedup_changes").fetchall()
    return ChangeScope(False, frozenset(row[0] for row in published), frozenset(row[0] for row in ingested))


def finish_update(conn: duckdb.DuckDBPyConnection) -> None:
    """In the transaction that commits the stories: the claimed changes are done, and so is the update."""
    conn.execute("DELETE FROM dedup_changes WHERE taken")
    conn.execute("DELETE FROM dedup_pending")
