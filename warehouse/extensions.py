"""DuckDB extensions loaded from their pip packages (`duckdb-extension-<name>`), so nothing is downloaded."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import duckdb


class ExtensionMissing(RuntimeError):
    """The extension's package for the installed duckdb is not installed; the message says what to install."""


# DuckDB checks an extension's signature at every LOAD: it hashes the whole file (36 MB for ducklake, 35 MB for
# sqlite_scanner), 60 ms each, which was half of opening a lake. A file this process has loaded with the check on
# is recorded with its identity (device, inode, size, modification time); a later connection that loads only
# recorded files, unchanged since, is opened with `allow_unsigned_extensions` and skips the hash. Any other file,
# or a recorded one that changed, is checked again. Readers lock their configuration after loading, and with
# external access off no LOAD is possible on them anyway.
_verified: dict[str, tuple[int, int, int, int]] = {}


def _identity(path: Path) -> tuple[int, int, int, int]:
    status = os.stat(path)
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def verified_config(names: tuple[str, ...]) -> dict[str, bool]:
    """The connection setting that skips the signature checks of `names`, when this process has already checked
    each of their files and none changed since; empty otherwise."""
    try:
        paths = [extension_path(name) for name in names]
        unchanged = all(_verified.get(str(path)) == _identity(path) for path in paths)
    except (ExtensionMissing, OSError):
        return {}
    # Nothing else is loaded unchecked: not an extension DuckDB would install or load by itself.
    skip = {
        "allow_unsigned_extensions": True,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    return skip if unchanged else {}


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
    """LOAD the extension from its pip package. On a connection opened with `verified_config`, a file not yet
    checked in this process (or changed since) is first checked on a scratch connection, so no file is ever
    loaded unchecked."""
    load_extension_file(conn, extension_path(name))


def load_extension_file(conn: duckdb.DuckDBPyConnection, path: Path) -> None:
    if _skips_checks(conn) and _verified.get(str(path)) != _identity(path):
        with duckdb.connect() as scratch:
            _load(scratch, path)
    _load(conn, path)


def _skips_checks(conn: duckdb.DuckDBPyConnection) -> bool:
    return conn.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone()[0]


def _load(conn: duckdb.DuckDBPyConnection, path: Path) -> None:
    identity = _identity(path)  # before the load: a file replaced during it is not recorded as checked
    quoted = str(path).replace("'", "''")
    conn.execute(f"LOAD '{quoted}'")
    if not _skips_checks(conn):
        _verified[str(path)] = identity  # DuckDB checked its signature


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
