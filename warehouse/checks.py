"""Data tests written in SQL (each query must return no rows) and table checksums."""

from __future__ import annotations

from pathlib import Path

import duckdb

CHECKS_DIR = Path(__file__).parent / "checks"


def run_data_checks(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Failing rows per check file; an empty dict means every check passed."""
    failures = {}
    for check in sorted(CHECKS_DIR.glob("*.sql")):
        rows = conn.execute(check.read_text(encoding="utf-8")).fetchall()
        if rows:
            failures[check.stem] = rows
    return failures


def table_checksum(conn: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...] = ()) -> str:
    """md5 over every row (ordered), leaving out columns such as run ids and timestamps."""
    columns = [
        row[0]
        for row in conn.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = ?
               ORDER BY ordinal_position""",
            [table],
        ).fetchall()
        if row[0] not in exclude
    ]
    if not columns:
        raise ValueError(f"no table {table!r} (or every column excluded)")
    row_text = "concat_ws('|', " + ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '\\N')" for c in columns) + ")"
    digest = f"coalesce(md5(string_agg({row_text}, '\n' ORDER BY {row_text})), '')"
    return conn.execute(f'SELECT {digest} FROM "{table}"').fetchone()[0]
