"""DuckDB extensions loaded from their pip packages (`duckdb-extension-<name>`), so nothing is downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb


class ExtensionMissing(RuntimeError):
    """The extension's package for the installed duckdb is not installed; the message says what to install."""


def extension_path(name: str) -> Path:
    """The `<name>.duckdb_extension` file shipped by the pip package matching the installed duckdb."""
    install = f"pip install duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__}"
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionMissing(f"the DuckDB {name} extension is not installed: {install}")
    root = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(root.rglob(f"{name}.duckdb_extension"))
    matching = [path for path in candidates if path.parent.name == f"v{duckdb.__version__}"]
    if not matching:
        found = ", ".join(path.parent.name for path in candidates) or "none"
        raise ExtensionMissing(
            f"no {name} extension for duckdb {duckdb.__version__} under {root} (found: {found}): {install}"
        )
    return matching[0]


def load_extension(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    path = str(extension_path(name)).replace("'", "''")
    conn.execute(f"LOAD '{path}'")


def main(argv: list[str] | None = None) -> int:
    """`python -m warehouse.extensions fts` prints the fts extension file's path (for the DuckDB shell's LOAD)."""
    import sys

    names = sys.argv[1:] if argv is None else argv
    if len(names) != 1:
        print("usage: python -m warehouse.extensions NAME   (fts, ducklake, sqlite_scanner)", file=sys.stderr)
        return 2
    try:
        print(extension_path(names[0]))
    except ExtensionMissing as exc:
        print(f"mediamon: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
