"""`mediamon check` and the data checks behind it, on real DuckDB files."""

from __future__ import annotations

import duckdb
import pytest

from extractors import extract_document
from mediamon.cli import main as mediamon
from tests.conftest import SEEDS_DIR
from warehouse.checks import check_files, failing_checks
from warehouse.db import open_writer
from warehouse.load import load_batch

pytestmark = pytest.mark.warehouse


@pytest.fixture
def seeded_db(tmp_path):
    db = tmp_path / "seeded.duckdb"
    articles = [extract_document(p.read_bytes(), p.as_uri(), "text") for p in sorted(SEEDS_DIR.glob("*.txt"))]
    with open_writer(db) as conn:
        load_batch(conn, articles, [], "run-1")
    return db


def test_check_passes_on_the_seeds(seeded_db, capsys):
    assert mediamon(["check", "--db", str(seeded_db)]) == 0
    assert capsys.readouterr().out == f"all {len(check_files())} checks passed -> {seeded_db}\n"


def test_check_names_each_failing_check_with_its_rows_and_exits_1(seeded_db, capsys):
    with duckdb.connect(str(seeded_db)) as conn:
        conn.execute("INSERT INTO articles SELECT * FROM articles ORDER BY source_uri LIMIT 1")
        conn.execute("UPDATE articles SET language = 'EN' WHERE source_uri LIKE '%/002%'")
    assert mediamon(["check", "--db", str(seeded_db), "--rows", "1"]) == 1
    out = capsys.readouterr().out.splitlines()
    failed = [line for line in out if line.startswith("FAILED ")]
    assert [line.split(":")[0] for line in failed] == ["FAILED articles_language_codes", "FAILED articles_unique_id"]
    assert failed[0].startswith("FAILED articles_language_codes: 1 row (Languages are lower-case")
    assert failed[1].startswith("FAILED articles_unique_id: 2 rows (")
    unique = out.index(failed[1])
    assert out[unique + 1] == "  key | value | n" and out[unique + 2].startswith("  article_id | ")
    assert out[unique + 3].startswith(("FAILED", "2 of"))  # --rows 1: one row shown of two
    assert out[-1] == f"2 of {len(check_files())} checks failed -> {seeded_db}"


def test_check_missing_warehouse_is_one_line(tmp_path, capsys):
    assert mediamon(["check", "--db", str(tmp_path / "none.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mediamon: ") and err.count("\n") == 1


def test_failing_checks_count_every_row_and_keep_a_sample(seeded_db):
    with duckdb.connect(str(seeded_db)) as conn:
        conn.execute("UPDATE articles SET word_count = 0")
        (failure,) = failing_checks(conn, sample=2)
    assert (failure.name, failure.rows, failure.columns, len(failure.sample)) == (
        "articles_not_null",
        5,
        ["article_id"],
        2,
    )
    assert failure.description == "Required columns are filled, and text is never blank."
