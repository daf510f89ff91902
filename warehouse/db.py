"""The DuckDB file: connections that wait for the single writer, and schema migrations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.views import create_views

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# DuckDB's memory limit on writing connections (its default is 80% of RAM): beyond it, joins, aggregates and the
# full-text index rebuild spill to `<db>.tmp`. The index rebuild over 20,000 articles peaked at 1,022 MB without
# it and 445 MB with 256 MB, in the same time.
WRITER_MEMORY_LIMIT = "512MB"


class WarehouseBusy(RuntimeError):
    """Another process holds the write lock on the warehouse file for longer than we wait."""


class WarehouseMissing(FileNotFoundError):
    """A read was asked of a warehouse file that does not exist yet."""


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    wait_seconds: float = 30.0,
    on_busy: Callable[[], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, retrying while another process writes; WarehouseBusy when it never frees.

    `on_busy` is called once, at the first retry, so a person waiting knows why."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: run `mediamon ingest` first or pass --db")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            config = {} if read_only else {"memory_limit": WRITER_MEMORY_LIMIT}
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                if _is_lock_conflict(exc):
                    raise WarehouseBusy(
                        f"warehouse {path} is busy: another process is writing (waited {wait_seconds:.0f} s)"
                    ) from exc
                raise
            if on_busy:
                on_busy()
                on_busy = None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the numbered SQL files not yet recorded in schema_migrations, each in a transaction, then
    (re)create the reporting views (warehouse/views/*.sql) every time, so an edited view takes effect on the
    next run."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for script in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if script.stem in done:
            continue
        conn.begin()
        try:
            conn.execute(script.read_text(encoding="utf-8"))
            conn.execute("INSERT INTO schema_migrations VALUES (?, now()::TIMESTAMP)", [script.stem])
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        applied.append(script.stem)
    create_views(conn)
    return applied


@contextmanager
def open_writer(path: str | Path, wait_seconds: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated read-write connection, held only as long as the block runs."""
    conn = connect(path, wait_seconds=wait_seconds)
    try:
        migrate(conn)
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    conn.begin()
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
