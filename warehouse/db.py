"""The warehouse: a DuckDB file (connections wait for its single writer) or a DuckLake catalog (many writers),
and schema migrations for both.

A location is a file path, or `ducklake:` followed by DuckLake's own catalog spelling: `ducklake:sqlite:PATH`
(several processes on one machine or a shared disk), `ducklake:postgres:CONNINFO` (many machines; the lake must
have been created once with its DATA_PATH), or `ducklake:PATH` (a DuckDB-file catalog, one process). A new
file-based lake keeps its Parquet files in `<catalog>.files/`.
"""

from __future__ import annotations

import fcntl
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.extensions import load_extension, verified_config
from warehouse.transaction import transaction
from warehouse.views import create_views, views_fingerprint

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# DuckDB's memory limit on writing connections (its default is 80% of RAM): beyond it, joins and aggregates spill
# to `<db>.tmp`, and blocks read are evicted from its cache. Dedup reads every new article's text, whose blocks
# DuckDB kept cached up to the limit; at 20,000 articles dedup took as long with 192 MB as with 512 MB.
WRITER_MEMORY_LIMIT = "256MB"
LAKE_PREFIX = "ducklake:"
LAKE_ALIAS = "lake"
# What DuckLake says when asked to attach a catalog that holds no lake yet without a DATA_PATH.
_NEW_LAKE_NEEDS_DATA_PATH = "data_path is not set"
# DuckLake has no PRIMARY KEY or UNIQUE constraints: on a lake, migrations run with them removed (the code never
# relies on them: upserts are anti-joins or delete-then-insert, and warehouse/checks/ test uniqueness).
_COMMENT = re.compile(r"--[^\n]*")
_CONSTRAINT = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)|\s+PRIMARY KEY\b|\s+UNIQUE\b", re.IGNORECASE)
# Readers never download or auto-load an extension: the ones the project needs come from their pip packages
# (warehouse/extensions.py) and are loaded by name before a reader is locked down (see connect_reader).
READER_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
# Writers load fts for the search index (warehouse/search.py).
WRITER_EXTENSIONS = ("fts",)
log = logging.getLogger("mediamon")


class WarehouseBusy(RuntimeError):
    """Another process holds the write lock on the warehouse file for longer than we wait."""


class WarehouseMissing(FileNotFoundError):
    """A read was asked of a warehouse file that does not exist yet."""


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def is_lake(location: str | Path) -> bool:
    return str(location).startswith(LAKE_PREFIX)


def _lake_catalog(location: str) -> tuple[str, Path | None]:
    """(catalog type, catalog file or None for a server) of a `ducklake:` location."""
    rest = location[len(LAKE_PREFIX) :]
    kind, _, target = rest.partition(":")
    if kind in ("sqlite", "postgres"):
        return kind, Path(target) if kind == "sqlite" else None
    return "duckdb", Path(rest)


def absolute_location(location: str | Path) -> str:
    """The location with its file made absolute, for runs started from another working directory."""
    text = str(location)
    if not is_lake(text):
        return str(Path(text).absolute())
    kind, catalog = _lake_catalog(text)
    if catalog is None:
        return text
    return LAKE_PREFIX + (f"{kind}:" if kind != "duckdb" else "") + str(catalog.absolute())


def is_write_conflict(exc: BaseException) -> bool:
    """A DuckLake commit lost to another writer's (a conflicting change, or its catalog locked): retry it."""
    text = str(exc)
    return isinstance(exc, duckdb.Error) and (
        "Failed to commit DuckLake" in text or "database is locked" in text or "Transaction conflict" in text
    )


def _connect_lake(
    location: str, read_only: bool, wait_seconds: float = 30.0, extensions: tuple[str, ...] = ()
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as the default database; an attach that finds the catalog
    locked (another writer committing) is tried again, with backoff, for up to `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return _attach_lake(location, read_only, extensions)
        except duckdb.Error as exc:
            if "database is locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _attach_lake(location: str, read_only: bool, extensions: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    kind, catalog = _lake_catalog(location)
    if catalog is not None and not catalog.exists():
        if read_only:
            raise WarehouseMissing(f"no warehouse at {location}: run `mediamon ingest` first or pass --db")
        catalog.parent.mkdir(parents=True, exist_ok=True)
    needed = ("ducklake",) if kind == "duckdb" else ("ducklake", f"{kind}_scanner")
    config = dict(READER_CONFIG) if read_only else {"memory_limit": WRITER_MEMORY_LIMIT}
    conn = duckdb.connect(config={**config, **verified_config(needed + extensions)})
    try:
        for name in needed:
            load_extension(conn, name)
        attach = "ATTACH '{}' AS {}".format(location.replace("'", "''"), LAKE_ALIAS)
        try:
            conn.execute(attach + (" (READ_ONLY)" if read_only else ""))
        except duckdb.InvalidInputException as exc:
            # A catalog file with no lake in it yet (new, or a creation that crashed): this writer creates it (one
            # at a time: open_writer holds the lake's lock).
            if read_only or catalog is None or _NEW_LAKE_NEEDS_DATA_PATH not in str(exc):
                raise
            data_path = str(catalog) + ".files/"
            conn.execute(attach + " (DATA_PATH '{}')".format(data_path.replace("'", "''")))
        conn.execute(f"USE {LAKE_ALIAS}")
    except BaseException:
        conn.close()
        raise
    return conn


def on_lake(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's default database is a DuckLake catalog."""
    query = "SELECT type = 'ducklake' FROM duckdb_databases() WHERE database_name = current_database()"
    return conn.execute(query).fetchone()[0]


def portable_ddl(sql: str) -> str:
    """A migration without the constraints DuckLake cannot hold (and without comments)."""
    return _CONSTRAINT.sub("", _COMMENT.sub("", sql))


def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    wait_seconds: float = 30.0,
    on_busy: Callable[[], None] | None = None,
    extensions: tuple[str, ...] = (),
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, retrying while another process writes a DuckDB file; WarehouseBusy when it never frees.

    `on_busy` is called once, at the first retry, so a person waiting knows why. A lake waits to open only while
    its catalog is locked by a commit; its writers conflict at commit (see is_write_conflict). `extensions`: the
    ones the connection will load (warehouse.extensions.verified_config)."""
    if is_lake(path):
        return _connect_lake(str(path), read_only, wait_seconds, extensions)
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: run `mediamon ingest` first or pass --db")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + wait_seconds
    delay = 0.05
    waiting = False
    config = {**(READER_CONFIG if read_only else {"memory_limit": WRITER_MEMORY_LIMIT}), **verified_config(extensions)}
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                if _is_lock_conflict(exc):
                    raise WarehouseBusy(
                        f"warehouse {path} is busy: another process is writing (waited {wait_seconds:.0f} s)"
                    ) from exc
                raise
            if not waiting and not read_only:
                log.warning(
                    "waiting for the lock on warehouse %s: another process holds it (up to %.0f s)", path, wait_seconds
                )
            waiting = True
            if on_busy:
                on_busy()
                on_busy = None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            continue
        if waiting and not read_only:
            log.info("got the lock on warehouse %s after waiting %.1f s", path, time.monotonic() - started)
        return conn


def connect_reader(
    path: str | Path,
    *,
    wait_seconds: float = 30.0,
    on_busy: Callable[[], None] | None = None,
    extensions: tuple[str, ...] = (),
    writable_dir: str | Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A read-only connection that DuckDB itself confines to the warehouse, for SQL a person wrote or reads.

    After the `extensions` (from their pip packages) are loaded, external access is turned off: no file or URL
    is opened except the warehouse (a DuckDB file with its WAL, or a lake's catalog and the data files of its
    current snapshot, listed in a transaction the connection keeps, so every query reads that snapshot), DuckDB's
    temporary directory and `writable_dir` (an export's folder); no extension is installed or loaded, no Python
    variable is scanned; then the configuration is locked, so no SET or RESET can undo any of it."""
    conn = connect(path, read_only=True, wait_seconds=wait_seconds, on_busy=on_busy, extensions=extensions)
    try:
        for name in extensions:
            load_extension(conn, name)
        allowed_paths = _lake_data_files(conn) if is_lake(path) else []
        if allowed_paths:
            conn.execute("SET allowed_paths = " + _sql_list(allowed_paths))
        if writable_dir is not None:
            conn.execute("SET allowed_directories = " + _sql_list([str(Path(writable_dir).absolute())]))
        conn.execute("SET enable_external_access = false")
        conn.execute("SET python_enable_replacements = false")
        conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    return conn


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'{}'".format(item.replace("'", "''")) for item in items) + "]"


def _lake_data_files(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The data and delete files of every table of the lake's snapshot, read in a transaction left open: the
    reader's queries run in it, so they read exactly these files (a writer's later commit is not seen)."""
    conn.begin()
    # Only the tables that have (or had) a data or delete file are listed: most tables of a lake this size keep
    # their rows inlined in the catalog, and one `ducklake_list_files` per table was most of a reader's start.
    metadata = f"__ducklake_metadata_{LAKE_ALIAS}"
    tables = conn.execute(
        f"""SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()
            AND (schema_name, table_name) IN (
                SELECT (s.schema_name, t.table_name)
                FROM {metadata}.ducklake_table t JOIN {metadata}.ducklake_schema s USING (schema_id)
                WHERE t.table_id IN (SELECT table_id FROM {metadata}.ducklake_data_file
                                     UNION ALL SELECT table_id FROM {metadata}.ducklake_delete_file))"""
    ).fetchall()
    files: set[str] = set()
    for schema, table in tables:
        rows = conn.execute(
            "SELECT data_file, delete_file FROM ducklake_list_files(current_database(), ?, schema => ?)",
            [table, schema],
        ).fetchall()
        files.update(name for row in rows for name in row if name)
    return sorted(files)


def applied_versions(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The migrations recorded in schema_migrations."""
    return {version for (version,) in conn.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the numbered SQL files not yet recorded in schema_migrations, then bring the reporting views up to
    date with warehouse/views/*.sql (recreated when the files changed), so an edited view takes effect on the
    next run. A new warehouse gets them all in one transaction (a new lake in 0.4 s instead of 2.7 s: each
    commit to its catalog costs); an existing one gets each missing file in its own transaction."""
    ddl = portable_ddl if on_lake(conn) else str
    conn.execute(
        ddl("CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
    )
    scripts = sorted(MIGRATIONS_DIR.glob("*.sql"))
    done = applied_versions(conn)
    applied = []
    for batch in [scripts] if not done else [[script] for script in scripts if script.stem not in done]:
        with transaction(conn):
            # Checked again in the transaction: on a lake, another writer may have applied some since `done` was
            # read; one applying them now conflicts with this commit (the same tables), a retry.
            done = applied_versions(conn)
            versions = []
            for script in batch:
                if script.stem in done:
                    continue
                conn.execute(ddl(script.read_text(encoding="utf-8")))
                versions.append(script.stem)
            if versions:  # one statement for the batch: each INSERT cost about 1 ms
                conn.execute(
                    "INSERT INTO schema_migrations SELECT unnest($versions), now()::TIMESTAMP", {"versions": versions}
                )
            applied.extend(versions)
    create_views(conn)
    return applied


@contextmanager
def open_writer(path: str | Path, wait_seconds: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated read-write connection, held only as long as the block runs (on a lake too: a kept instance
    holds the SQLite catalog's lock between transactions, and the other writers then never commit). On a lake
    with a catalog file, the blocks of all writers take turns (see _lake_write_lock), as on a DuckDB file."""
    with _lake_write_lock(path, wait_seconds):
        conn = connect(path, wait_seconds=wait_seconds, extensions=WRITER_EXTENSIONS)
        try:
            migrated = (absolute_location(path), views_fingerprint())
            if migrated not in _migrated or not _holds_every_migration(conn):
                migrate(conn)
                _migrated.add(migrated)
            yield conn
        finally:
            conn.close()


@contextmanager
def _lake_write_lock(location: str | Path, wait_seconds: float) -> Iterator[None]:
    """One writer block at a time on a lake with a catalog file: an exclusive lock on `<catalog>.lock`, waited
    for up to `wait_seconds` (WarehouseBusy after), held from the attach (which creates a new lake) through the
    migrations to the block's end. DuckLake's commits do not conflict when two writers only insert into a table,
    so two writers that each checked a key was missing both added it (two runs' dedup updates stored one pair
    twice: data check dedup_state_unique); every loader, the dedup and story state, the search index and the
    monitor matches rely on seeing the rows committed before them, as one writer on a DuckDB file does.
    Extraction and fetching, outside the writer blocks, still run at once. A server catalog (Postgres) has no
    file to lock: its writers are not serialized (docs/deployment.md); two applying one migration conflict at
    commit, and the later is retried."""
    catalog = _lake_catalog(str(location))[1] if is_lake(location) else None
    if catalog is None:
        yield
        return
    catalog.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{catalog}.lock", "a") as lock:  # not inherited: the extraction workers are spawned
        started = time.monotonic()
        delay, told = 0.005, False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    raise WarehouseBusy(
                        f"warehouse {location} is busy: another writer holds its write lock (waited {waited:.0f} s)"
                    ) from None
                if waited >= 5 and not told:  # turns of a batch's length are expected; a long one is said
                    log.warning("waiting for the write lock of warehouse %s: another writer holds it", location)
                    told = True
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        yield


# Locations this process has migrated, with the view files it brought their views up to date with: its later
# writers of the same location (while the view files are unchanged) only check that every migration is recorded,
# so a warehouse deleted or replaced by an older copy meanwhile is migrated again. A run opens a writer per step
# and per batch; on a lake, migrate's catalog reads were a third of each opening.
_migrated: set[tuple[str, str]] = set()


def _holds_every_migration(conn: duckdb.DuckDBPyConnection) -> bool:
    versions = sorted(script.stem for script in MIGRATIONS_DIR.glob("*.sql"))
    try:
        return conn.execute("SELECT list(version ORDER BY version) FROM schema_migrations").fetchone()[0] == versions
    except duckdb.CatalogException:
        return False
