"""Reporting views: one SELECT per file in views/, (re)created after the migrations on every `migrate()`.

A view file holds a bare SELECT (CTEs source, cleaned, final); its name is the file's stem, which starts with
`rpt_`. Files are applied in name order, so a view may read only views whose files sort before its own
(`rpt_articles`, the per-article base the others group, sorts first).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from warehouse.transaction import transaction

VIEWS_DIR = Path(__file__).parent / "views"
VIEW_PREFIX = "rpt_"


def view_files() -> list[Path]:
    return sorted(VIEWS_DIR.glob(f"{VIEW_PREFIX}*.sql"))


def view_names() -> list[str]:
    return [path.stem for path in view_files()]


def views_fingerprint(files: list[Path] | None = None) -> str:
    """A digest of the view files' names and texts: stored with the views, so a changed file is noticed."""
    files = view_files() if files is None else files
    return hashlib.sha256("\0".join(f"{p.stem}\0{p.read_text(encoding='utf-8')}" for p in files).encode()).hexdigest()


def _create_view(conn: duckdb.DuckDBPyConnection, path: Path, kind: str) -> None:
    sql = path.read_text(encoding="utf-8").strip().rstrip(";")
    try:
        conn.execute(f"CREATE OR REPLACE {kind} {path.stem} AS\n{sql}")
    except duckdb.Error as exc:
        raise type(exc)(f"view {path.name}: {exc}") from exc


def create_views(conn: duckdb.DuckDBPyConnection, *, temporary: bool = False) -> list[str]:
    """(Re)create every reporting view from its file; returns their names in creation order.

    Persistent views are replaced in one transaction, and `rpt_` views whose file is gone are dropped, so the
    warehouse always holds exactly the views in views/; nothing is written when the stored views already are
    those of the files (same names, same fingerprint in view_definitions). `temporary=True` creates them in the
    connection's temp schema instead (they shadow the stored ones), which works on a read-only connection:
    readers such as the report then use the views of the code they run, even on a warehouse no newer writer has
    opened yet.
    """
    files = view_files()
    names = [path.stem for path in files]
    if temporary:
        for path in files:
            _create_view(conn, path, "TEMP VIEW")
        return names
    fingerprint = views_fingerprint(files)
    stored = {
        name
        for (name,) in conn.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary AND schema_name = 'main'"
            " AND database_name = current_database() AND starts_with(view_name, ?)",
            [VIEW_PREFIX],
        ).fetchall()
    }
    current = conn.execute("SELECT list(fingerprint) FROM view_definitions").fetchone()[0]
    if stored == set(names) and current == [fingerprint]:
        return names
    with transaction(conn):
        for name in sorted(stored - set(names)):
            conn.execute(f'DROP VIEW "{name}"')
        for path in files:
            _create_view(conn, path, "VIEW")
        conn.execute("DELETE FROM view_definitions")
        conn.execute("INSERT INTO view_definitions (fingerprint) VALUES (?)", [fingerprint])
    return names
