"""Data tests written in SQL (each query must return no rows) and table checksums."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

CHECKS_DIR = Path(__file__).parent / "checks"


@dataclass(frozen=True)
class CheckFailure:
    """A check that returned rows: how many, and the first few to look at."""

    name: str
    description: str
    rows: int
    columns: list[str]
    sample: list[tuple]


class DataChecksFailed(RuntimeError):
    """A data check found rows breaking an invariant; raised after the run's data is committed."""

    def __init__(self, failures: list[CheckFailure], summary: dict | None = None):
        self.failures = failures
        self.summary = summary  # the run's counts, when the run that checked has them
        listed = ", ".join(f"{f.name} ({f.rows} row{'' if f.rows == 1 else 's'})" for f in failures)
        super().__init__(f"data checks failed: {listed}; the run's data is loaded; `mediamon check` lists the rows")


def check_files() -> list[Path]:
    return sorted(CHECKS_DIR.glob("*.sql"))


def _description(sql: str) -> str:
    """The check's first comment line: what it asserts (later comment lines are notes for its readers)."""
    return next((line.removeprefix("--").strip() for line in sql.splitlines() if line.startswith("--")), "")


def failing_checks(conn: duckdb.DuckDBPyConnection, sample: int = 5) -> list[CheckFailure]:
    """Every check that returns rows, with its row count and up to `sample` rows; [] when all pass. The rows
    are counted in DuckDB, so a check failing on millions of rows costs no more memory than a passing one."""
    failures = []
    for check in check_files():
        sql = check.read_text(encoding="utf-8").strip().rstrip(";")
        count = conn.execute(f"SELECT count(*) FROM (\n{sql}\n)").fetchone()[0]
        if count:
            relation = conn.execute(f"SELECT * FROM (\n{sql}\n) LIMIT {int(sample)}")
            columns = [d[0] for d in relation.description]
            failures.append(CheckFailure(check.stem, _description(sql), count, columns, relation.fetchall()))
    return failures


def record_checks(conn: duckdb.DuckDBPyConnection, run_id: str, failures: list[CheckFailure]) -> None:
    """Note on the run's row which checks failed and on how many rows ('{}': all passed)."""
    failed = json.dumps({f.name: f.rows for f in failures})
    conn.execute("UPDATE runs SET failed_checks = ? WHERE run_id = ?", [failed, run_id])


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
    # pragma_table_info, not information_schema.columns: the same columns, in a tenth of the time.
    try:
        names = conn.execute("SELECT name FROM pragma_table_info(?) ORDER BY cid", [f'"{table}"']).fetchall()
    except duckdb.CatalogException:
        names = []
    columns = [name for (name,) in names if name not in exclude]
    if not columns:
        raise ValueError(f"no table {table!r} (or every column excluded)")
    row_text = "concat_ws('|', " + ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '\\N')" for c in columns) + ")"
    digest = f"coalesce(md5(string_agg({row_text}, '\n' ORDER BY {row_text})), '')"
    return conn.execute(f'SELECT {digest} FROM "{table}"').fetchone()[0]
