"""Read-only ad hoc SQL for analysts: statements that write are refused before they run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from warehouse.db import connect

READ_ONLY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class WritingStatement(ValueError):
    """The query would write (to the warehouse or to a file); `mediamon sql` only reads."""


def check_read_only(sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise duckdb.ParserException(str(exc).splitlines()[0]) from exc
    if not statements:
        raise WritingStatement("empty query: give one SELECT statement")
    for statement in statements:
        if statement.type not in READ_ONLY_STATEMENTS:
            kind = statement.type.name
            raise WritingStatement(
                f"{kind} statements are not allowed: `mediamon sql` is read-only (SELECT, WITH, EXPLAIN,"
                " SHOW, DESCRIBE, SUMMARIZE); writes go through `mediamon ingest`"
            )


def open_query(
    path: str | Path, sql: str, wait_seconds: float, on_busy: Callable[[], None] | None = None
) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyRelation]:
    """A read-only connection and the relation for `sql`; the caller closes the connection."""
    check_read_only(sql)
    conn = connect(path, read_only=True, wait_seconds=wait_seconds, on_busy=on_busy)
    try:
        return conn, conn.sql(sql)
    except Exception:
        conn.close()
        raise
