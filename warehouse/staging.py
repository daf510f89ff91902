"""Arrow tables staged for SQL: shaped like the table they load into, and registered for one block only, so none
outlives an exception."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[str]:
    """Register `table` as the view `name` for the block; it is unregistered when the block ends, also when it
    raises (a registered view keeps its Arrow table, and the table's memory, alive for the connection's life).
    Unregistering works in a transaction that failed, so the block may be inside or outside `transaction()`."""
    conn.register(name, table)
    try:
        yield name
    finally:
        conn.unregister(name)


# Date ranges a read of articles by id is filtered on (dates closer than an hour share one), at most this many.
MAX_DATE_RANGES = 64


def articles_by_id(
    conn: duckdb.DuckDBPyConnection,
    ids: Iterable[str],
    columns: str,
    dates: Iterable[datetime | None] | None = None,
    date_column: str = "published_at",
) -> list[tuple]:
    """`SELECT columns FROM articles` for these article ids, reading the wide columns (texts) only near the ids.

    A join with the ids alone reads every stored text: the table has no index on article_id and the join pushes no
    filter into the scan (1-2 s for 1,000 ids at 100,000 articles, ten times that at 1,000,000). So the rows are read
    with a filter on the ids' dates, which lets the scan skip the texts of every other date: `dates`, their values of
    `date_column` when the caller knows them (a superset will do), else read first (a narrow scan, but of every
    row)."""
    with registered(conn, "by_id_ids", pa.table({"article_id": pa.array(list(ids), pa.string())})):
        if dates is None:
            rows = conn.execute(
                f"SELECT DISTINCT {date_column} FROM articles JOIN by_id_ids USING (article_id)"
            ).fetchall()
            dates = [row[0] for row in rows]
        return conn.execute(
            f"""SELECT {columns} FROM articles JOIN by_id_ids USING (article_id)
                WHERE {date_filter(dates, date_column)}"""
        ).fetchall()


def date_filter(dates: Iterable[datetime | None], column: str = "published_at", undated: str | None = None) -> str:
    """An SQL condition true for every one of these dates in `column`: the dates as at most MAX_DATE_RANGES ranges
    (literals, so the scan can skip the rows outside them), and `column IS NULL` when None is among them (or
    `column = undated`, for a table that stores the SQL literal `undated` for an unknown date: a range, which the
    scan can skip, where IS NULL reads every row)."""
    given = set(dates)
    known = sorted(date for date in given if date is not None)
    gaps = sorted((b - a for a, b in zip(known[:-1], known[1:], strict=True)), reverse=True)
    widest = max(timedelta(hours=1), gaps[MAX_DATE_RANGES - 1] if len(gaps) >= MAX_DATE_RANGES else timedelta(0))
    ranges: list[list[datetime]] = []
    for date in known:
        if ranges and date - ranges[-1][1] <= widest:
            ranges[-1][1] = date
        else:
            ranges.append([date, date])
    parts = [
        f"{column} BETWEEN TIMESTAMP '{lo.isoformat(' ')}' AND TIMESTAMP '{hi.isoformat(' ')}'" for lo, hi in ranges
    ]
    if None in given:
        parts.append(f"{column} IS NULL" if undated is None else f"{column} = {undated}")
    return "(" + (" OR ".join(parts) or "FALSE") + ")"


_SCHEMAS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict[str, pa.Schema]] = weakref.WeakKeyDictionary()


def table_schema(conn: duckdb.DuckDBPyConnection, table: str, *, leave_out: tuple[str, ...] = ()) -> pa.Schema:
    """The Arrow schema of `table` as the connection's warehouse has it (the migrations are its one source), in
    column order, without the columns in `leave_out`: what a staged table must look like to be inserted.

    Read from the live table once per connection and table (the migrations run when a connection is opened,
    before any load)."""
    cached = _SCHEMAS.setdefault(conn, {})
    if table not in cached:
        cached[table] = conn.execute(f"SELECT * FROM {table} LIMIT 0").to_arrow_table().schema
    schema = cached[table]
    return pa.schema([column for column in schema if column.name not in leave_out])
