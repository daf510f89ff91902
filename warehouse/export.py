"""Exports for BI tools and notebooks: every table (the search index's too) and reporting view, one Parquet file
each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.atomic import atomic_write
from warehouse.views import view_names


@dataclass(frozen=True)
class ExportedFile:
    name: str  # `articles`, or `search.documents` for a table outside the main schema
    kind: str  # "table" or "view"
    path: Path
    rows: int
    size_bytes: int


def export_targets(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(name, kind) of what an export writes: the tables of schema main, then those of the other schemas (the
    search index, `search.documents` and `search.postings`) named `<schema>.<table>`, then the reporting views in
    creation order."""
    tables = conn.execute(
        """SELECT CASE WHEN schema_name = 'main' THEN table_name ELSE schema_name || '.' || table_name END
           FROM duckdb_tables()
           WHERE database_name = current_database() AND NOT temporary
           ORDER BY schema_name <> 'main', schema_name, table_name"""
    ).fetchall()
    return [(name, "table") for (name,) in tables] + [(name, "view") for name in view_names()]


def _quoted(name: str) -> str:
    return ".".join('"{}"'.format(part.replace('"', '""')) for part in name.split("."))


def export_parquet(
    conn: duckdb.DuckDBPyConnection, targets: list[tuple[str, str]], out_dir: str | Path
) -> Iterator[ExportedFile]:
    """Write each target to `out_dir/<name>.parquet` (`search.documents.parquet`: the file name is what one
    types in SQL), yielding as each file lands.

    Each file is written with `atomic_write` (a temporary name in the same folder, flushed to disk, renamed into
    place), so a reader (or an interrupted export) never sees a half-written file; a file from an earlier export
    is replaced whole.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, kind in targets:
        target = out_dir / f"{name}.parquet"
        with atomic_write(target) as temp:
            quoted = str(temp).replace("'", "''")
            rows = conn.execute(f"COPY (SELECT * FROM {_quoted(name)}) TO '{quoted}' (FORMAT parquet)").fetchone()[0]
        yield ExportedFile(name, kind, target, rows, target.stat().st_size)
