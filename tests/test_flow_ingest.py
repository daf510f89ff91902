"""The real Prefect ingest flow (session-scoped test harness) into real DuckDB files."""

from __future__ import annotations

import gzip
import shutil

import duckdb
import pytest

from flows.ingest import ingest
from tests.conftest import FIXTURES_DIR
from warehouse.checks import run_data_checks, table_checksum

pytestmark = pytest.mark.usefixtures("prefect_harness")

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def query(db, sql):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_ingest_flow_loads_seeds(fresh_db, seed_copy):
    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    assert {k: summary[k] for k in ("seen", "loaded", "unchanged", "rejected")} == {
        "seen": 5,
        "loaded": 5,
        "unchanged": 0,
        "rejected": 0,
    }
    rows = query(fresh_db, "SELECT source_uri, title, language, duplicate_of FROM articles ORDER BY source_uri")
    assert [r[0].rsplit("/", 1)[1][:3] for r in rows] == ["000", "001", "002", "003", "004"]
    assert rows[1][1] is None and all(r[1] for i, r in enumerate(rows) if i != 1)
    assert {r[2] for r in rows} == {"en"} and {r[3] for r in rows} == {None}
    run = query(fresh_db, "SELECT flow_name, status, seen, loaded, finished_at IS NOT NULL FROM runs")
    assert run == [("ingest", "completed", 5, 5, True)]
    with duckdb.connect(str(fresh_db), read_only=True) as conn:
        assert run_data_checks(conn) == {}


def test_ingest_flow_publishes_counts_artifact(fresh_db, seed_copy):
    from prefect.client.orchestration import get_client

    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    with get_client(sync_client=True) as client:
        artifacts = client.read_latest_artifacts()
    ours = [a for a in artifacts if a.key == "ingest-counts"]
    assert ours and str(summary["run_id"]) in {str(a.flow_run_id) for a in ours}


def test_ingest_flow_rerun_changes_nothing(fresh_db, seed_copy):
    ingest(paths=[str(seed_copy)], db=str(fresh_db))
    before = [table_checksum(duckdb.connect(str(fresh_db), read_only=True), t) for t in ("articles", "rejects")]
    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    with duckdb.connect(str(fresh_db), read_only=True) as conn:
        after = [table_checksum(conn, t) for t in ("articles", "rejects")]
        runs = conn.execute("SELECT loaded, unchanged FROM runs ORDER BY started_at").fetchall()
    assert after == before
    assert summary["loaded"] == 0 and summary["unchanged"] == 5
    assert runs == [(5, 0), (0, 5)]


def test_ingest_flow_changed_file_updates_in_place(fresh_db, seed_copy):
    ingest(paths=[str(seed_copy)], db=str(fresh_db))
    target = seed_copy / "004_a6894620ba0b7f20.txt"
    where = f"WHERE source_uri = '{target.as_uri()}'"
    ((old_id, old_at),) = query(fresh_db, f"SELECT article_id, ingested_at FROM articles {where}")
    update = "\n\nUpdate: Roscosmos later said the clip was a joke.\n"
    target.write_text(target.read_text(encoding="utf-8") + update, encoding="utf-8")
    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    rows = query(fresh_db, f"SELECT article_id, ingested_at, text FROM articles {where}")
    assert summary["updated"] == 1 and summary["unchanged"] == 4 and summary["loaded"] == 0
    assert len(rows) == 1 and rows[0][0] == old_id and rows[0][1] > old_at
    assert rows[0][2].endswith("Update: Roscosmos later said the clip was a joke.")
    assert query(fresh_db, "SELECT count(*) FROM articles") == [(5,)]


def test_ingest_flow_bad_files_are_rejected_while_good_files_load(fresh_db, seed_copy, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "whitespace.txt").write_bytes(b"  \n\n\t \n")
    (bad / "picture.txt").write_bytes(PNG + bytes(range(256)))
    (bad / "invalid-utf8.txt").write_bytes("Caf\u00e9 r\u00e9sum\u00e9 ".encode() * 20 + b"\xc3\x28\xff")
    (bad / "huge.txt").write_bytes(b"Headline\n\n" + b"word " * 60_000)
    (bad / "nobody.html").write_bytes(b"<html><head><title>No body at all</title></head></html>")
    (bad / "bomb.html.gz").write_bytes(gzip.compress(b"<p>" + b"x" * 5_000_000))
    shutil.copy(FIXTURES_DIR / "html" / "russian_windows1251.html", bad / "good-russian.html")
    summary = ingest(
        paths=[str(seed_copy), str(bad), str(tmp_path / "missing")], db=str(fresh_db), max_document_bytes=200_000
    )
    rejects = dict(
        (uri.rsplit("/", 1)[1], (stage, reason))
        for uri, stage, reason in query(fresh_db, "SELECT source_uri, stage, reason FROM rejects")
    )
    assert rejects == {
        "empty.txt": ("extract", "empty"),
        "whitespace.txt": ("extract", "empty"),
        "picture.txt": ("extract", "binary"),
        "invalid-utf8.txt": ("extract", "undecodable"),
        "huge.txt": ("extract", "too_large"),
        "nobody.html": ("extract", "no_text"),
        "bomb.html.gz": ("extract", "too_large"),
        "missing": ("read", "not_found"),
    }
    assert summary["loaded"] == 6 and summary["rejected"] == 8
    assert query(fresh_db, "SELECT language, count(*) FROM articles GROUP BY 1 ORDER BY 1") == [("en", 5), ("ru", 1)]


def test_ingest_flow_keeps_loaded_article_when_its_file_turns_bad(fresh_db, seed_copy):
    ingest(paths=[str(seed_copy)], db=str(fresh_db))
    before = query(fresh_db, "SELECT text FROM articles ORDER BY source_uri")
    (seed_copy / "000_95def5dfe9abb11a.txt").write_bytes(b"")
    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    assert summary["rejected"] == 1
    assert query(fresh_db, "SELECT text FROM articles ORDER BY source_uri") == before
