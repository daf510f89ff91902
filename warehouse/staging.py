"""Arrow tables staged for SQL: registered for one block only, so none outlives an exception."""

from __future__ import annotations

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
