"""Arrow tables staged for SQL: shaped like the table they load into, and registered for one block only, so none
outlives an exception."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

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
