"""Read-only ad hoc SQL for analysts (see docs/sql.md).

Two layers. DuckDB confines the connection (warehouse.db.connect_reader): read-only, no file or URL but the
warehouse, no extension installed or loaded, configuration locked. On that connection's parser, the text must be
exactly one SELECT (WITH, SHOW, DESCRIBE, SUMMARIZE and FROM-first queries parse as SELECT) or an EXPLAIN
[ANALYZE] of one; anything else is refused before it runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb

from warehouse.db import READER_CONFIG, connect_reader

# Functions refused by name. The sqlite extension (loaded for a `ducklake:sqlite:` catalog) opens SQLite files
# with its own I/O, outside DuckDB's external-access check, so on a lake its functions could read any SQLite
# file; query() and query_table() parse a string at run time, where these names could hide.
REFUSED_FUNCTIONS = frozenset({"sqlite_scan", "sqlite_attach", "sqlite_query", "query", "query_table"})
_WORD = re.compile(r"\w+|\S")  # a token's text from its start: a keyword or name, or one symbol such as (
_RULE = (
    "`mediamon sql` is read-only and runs exactly one SELECT (or WITH, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN [ANALYZE]"
    " SELECT); writes go through `mediamon ingest`"
)


class WritingStatement(ValueError):
    """The query is not one read-only statement; `mediamon sql` only reads."""


def _statements(conn: duckdb.DuckDBPyConnection, sql: str) -> list:
    try:
        return conn.extract_statements(sql)
    except duckdb.ParserException as exc:
        raise duckdb.ParserException(str(exc).splitlines()[0]) from exc


def _explained(conn: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The statement an EXPLAIN statement explains: the text after EXPLAIN, its ANALYZE or its (options)."""
    tokens = [(start, _WORD.match(sql, start).group()) for start, _ in duckdb.tokenize(sql)]
    rest = tokens[1:]  # tokens[0] is EXPLAIN: comments are not tokens, so nothing can hide before it
    if rest and rest[0][1].lower() == "analyze":
        rest = rest[1:]
    if not rest:
        raise WritingStatement(f"EXPLAIN of nothing: {_RULE}")
    inner = sql[rest[0][0] :]
    if rest[0][1] == "(" and not _parses(conn, inner):  # EXPLAIN (FORMAT json, ...) statement
        depth = 0
        for index, (_, text) in enumerate(rest):
            depth += (text == "(") - (text == ")")
            if depth == 0:
                rest = rest[index + 1 :]
                break
        inner = sql[rest[0][0] :] if rest else ""
    return inner


def _parses(conn: duckdb.DuckDBPyConnection, sql: str) -> bool:
    try:
        conn.extract_statements(sql)
    except duckdb.Error:
        return False
    return True


def _functions(conn: duckdb.DuckDBPyConnection, select: str) -> set[str]:
    """Every function name in a SELECT's syntax tree (DuckDB's own serialization of it)."""
    tree = json.loads(conn.execute("SELECT json_serialize_sql($sql)", {"sql": select}).fetchone()[0])
    if tree.get("error"):  # SELECTs DuckDB cannot serialize (PRAGMA table_info and the like): no functions to see
        return set()
    names: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("function_name"), str):
                names.add(node["function_name"].lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def check_read_only(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise WritingStatement unless `sql` is one SELECT, or EXPLAIN [ANALYZE] of one, by `conn`'s parser."""
    statements = _statements(conn, sql)
    if not statements:
        raise WritingStatement(f"empty query: {_RULE}")
    if len(statements) > 1:
        raise WritingStatement(f"{len(statements)} statements given: {_RULE}")
    (statement,) = statements
    explain = ""
    if statement.type == duckdb.StatementType.EXPLAIN:
        explain = "EXPLAIN of "
        statements = _statements(conn, _explained(conn, statement.query))
        if len(statements) != 1:
            raise WritingStatement(f"EXPLAIN of {len(statements) or 'no'} statements: {_RULE}")
        (statement,) = statements
    if statement.type != duckdb.StatementType.SELECT:
        raise WritingStatement(f"{explain}{statement.type.name} is not allowed: {_RULE}")
    refused = sorted(_functions(conn, statement.query) & REFUSED_FUNCTIONS)
    if refused:
        raise WritingStatement(
            f"{refused[0]}() is not allowed: `mediamon sql` is read-only and reads nothing but the warehouse"
        )


def write_parquet(relation: duckdb.DuckDBPyRelation, out: str | Path) -> None:
    """Stream the result into a Parquet file with pyarrow, so the locked-down connection never opens a file."""
    import pyarrow.parquet as pq  # here, not at the top: it is a third of `mediamon sql`'s start

    reader = relation.to_arrow_reader()
    with pq.ParquetWriter(str(out), reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def open_query(
    path: str | Path, sql: str, wait_seconds: float, on_busy: Callable[[], None] | None = None
) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyRelation]:
    """A locked-down read-only connection and the relation for `sql`; the caller closes the connection.

    The statement is checked first by an in-memory DuckDB's parser, so a refused one is refused at once: before
    the warehouse is opened, waited for while a writer holds it, or a lake's catalog attached. The connection's
    own parser then checks it again (it is the one that runs it)."""
    with duckdb.connect(config={**READER_CONFIG, "enable_external_access": False}) as parser:
        check_read_only(parser, sql)
    conn = connect_reader(path, wait_seconds=wait_seconds, on_busy=on_busy)
    try:
        check_read_only(conn, sql)
        return conn, conn.sql(sql)
    except Exception:
        conn.close()
        raise
