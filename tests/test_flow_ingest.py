"""The real Prefect ingest flow (session-scoped test harness) into real DuckDB files."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest
from tests.conftest import FIXTURES_DIR
from tests.helpers.prefect_server import mediamon_env
from warehouse.checks import run_data_checks, table_checksum

pytestmark = pytest.mark.usefixtures("prefect_harness")

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def query(db, sql):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.flows
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


@pytest.mark.flows
def test_ingest_flow_publishes_counts_artifact(fresh_db, seed_copy):
    from prefect.client.orchestration import get_client

    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    with get_client(sync_client=True) as client:
        artifacts = client.read_latest_artifacts()
    ours = [a for a in artifacts if a.key == "ingest-counts"]
    assert ours and str(summary["run_id"]) in {str(a.flow_run_id) for a in ours}


@pytest.mark.flows
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


@pytest.mark.flows
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


@pytest.mark.flows
def test_ingest_flow_bad_files_are_rejected_while_good_files_load(fresh_db, seed_copy, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "whitespace.txt").write_bytes(b"  \n\n\t \n")
    (bad / "picture.txt").write_bytes(PNG + bytes(range(256)))
    (bad / "invalid-utf8.txt").write_bytes(
        "Caf\u00e9 r\u00e9sum\u00e9 ".encode() * 20 + b"\xc3\x28\xff"
    )  # 2 stray bytes
    (bad / "broken-utf8.txt").write_bytes("Caf\u00e9 r\u00e9sum\u00e9 ".encode() * 20 + b"d\xc3\x28y " * 40)
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
        "broken-utf8.txt": ("extract", "undecodable"),  # as many broken sequences as good ones: not UTF-8
        "huge.txt": ("extract", "too_large"),
        "nobody.html": ("extract", "no_text"),
        "bomb.html.gz": ("extract", "too_large"),
        "missing": ("read", "not_found"),
    }
    assert summary["loaded"] == 7 and summary["rejected"] == 8
    by_file = {
        uri.rsplit("/", 1)[1]: (lang, replaced)
        for uri, lang, replaced in query(fresh_db, "SELECT source_uri, language, replaced_bytes FROM articles")
    }
    assert by_file["invalid-utf8.txt"][1] == 2  # read with U+FFFD for its two bad bytes, and the count kept
    del by_file["invalid-utf8.txt"]
    assert sorted(by_file.values()) == [("en", 0)] * 5 + [("ru", 0)]


@pytest.mark.flows
def test_ingest_flow_keeps_loaded_article_when_its_file_turns_bad(fresh_db, seed_copy):
    ingest(paths=[str(seed_copy)], db=str(fresh_db))
    before = query(fresh_db, "SELECT text FROM articles ORDER BY source_uri")
    (seed_copy / "000_95def5dfe9abb11a.txt").write_bytes(b"")
    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    assert summary["rejected"] == 1
    assert query(fresh_db, "SELECT text FROM articles ORDER BY source_uri") == before


ARTICLE = (
    "Outside the folder\n\nThis file sits outside the folder that was ingested, as /etc/passwd would. "
    "A folder of articles must not hand it out through a symlink unless the user asks for that.\n"
)


@pytest.mark.flows
def test_ingest_flow_symlinks_outside_folder_fifos_and_loops(fresh_db, seed_copy, tmp_path):
    outside = tmp_path / "outside"
    (outside / "more").mkdir(parents=True)
    (outside / "passwd.txt").write_text(ARTICLE)
    (outside / "more" / "b.txt").write_text(ARTICLE.replace("Outside", "Further outside"))
    (seed_copy / "passwd.txt").symlink_to(outside / "passwd.txt")
    (seed_copy / "more").symlink_to(outside / "more", target_is_directory=True)
    os.mkfifo(seed_copy / "pipe.html")
    (seed_copy / "loop.html").symlink_to(seed_copy / "loop.html")
    summary = ingest(paths=[str(seed_copy)], db=str(fresh_db))
    rejects = {
        uri.rsplit("/", 1)[1]: (stage, reason)
        for uri, stage, reason in query(fresh_db, "SELECT source_uri, stage, reason FROM rejects")
    }
    assert rejects == {
        "passwd.txt": ("read", "outside_root"),
        "more": ("read", "outside_root"),
        "pipe.html": ("read", "unsupported_type"),
        "loop.html": ("read", "unreadable"),
    }
    assert summary["loaded"] == 5 and summary["rejected"] == 4
    assert not query(fresh_db, "SELECT source_uri FROM articles WHERE source_uri LIKE '%outside%'")

    followed = ingest(paths=[str(seed_copy)], db=str(fresh_db), follow_symlinks=True)
    uris = {r[0] for r in query(fresh_db, "SELECT source_uri FROM articles")}
    assert followed["loaded"] == 2
    assert {(outside / "passwd.txt").resolve().as_uri(), (outside / "more" / "b.txt").resolve().as_uri()} <= uris


@pytest.mark.flows
def test_ingest_flow_proc_mem_symlink_reject_is_keyed_by_given_path(fresh_db, tmp_path):
    link = tmp_path / "mem.html"
    link.symlink_to("/proc/self/mem")
    for _ in range(2):
        summary = ingest(paths=[str(link)], db=str(fresh_db))
        assert summary["rejected"] == 1
    assert query(fresh_db, "SELECT source_uri, stage, reason FROM rejects") == [(link.as_uri(), "read", "unreadable")]


@pytest.mark.e2e
def test_cli_ingest_special_targets_are_rejects_and_run_completes(seed_copy, tmp_path, prefect_server):
    """Named FIFO, device, symlink loop, missing path, file: URIs, malformed URLs and other schemes, on the
    command line and in a --urls file: each one rejects row with its reason, the good file loads, exit 0."""
    db = tmp_path / "cli.duckdb"
    os.mkfifo(tmp_path / "pipe.html")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    good = seed_copy / "000_95def5dfe9abb11a.txt"
    picks = tmp_path / "picks.txt"
    picks.write_text(
        f"https://[::1\ndict://localhost:11211/stat\n{(seed_copy / '002_83585d02e822ea92.txt').as_uri()}\n"
    )
    targets = [
        good.as_uri(),
        str(tmp_path / "pipe.html"),
        "/dev/zero",
        str(tmp_path / "loop.txt"),
        str(tmp_path / "missing.txt"),
        "file://fileserver.example/share/x.txt",
        "https://[::1",
        "http://127.0.0.1:99999/",
        "gopher://127.0.0.1/1",
        "javascript:alert(1)",
    ]
    env = mediamon_env(prefect_server.api_url)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mediamon"), "ingest", *targets, "--urls", str(picks), "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert {r[0] for r in query(db, "SELECT source_uri FROM articles")} == {
        good.resolve().as_uri(),
        (seed_copy / "002_83585d02e822ea92.txt").resolve().as_uri(),
    }
    rejects = {
        uri: (stage, reason) for uri, stage, reason in query(db, "SELECT source_uri, stage, reason FROM rejects")
    }
    assert rejects == {
        (tmp_path / "pipe.html").as_uri(): ("read", "unsupported_type"),
        "file:///dev/zero": ("read", "unsupported_type"),
        (tmp_path / "loop.txt").as_uri(): ("read", "unreadable"),
        (tmp_path / "missing.txt").as_uri(): ("read", "not_found"),
        "file://fileserver.example/share/x.txt": ("read", "bad_url"),
        "https://[::1": ("fetch", "bad_url"),
        "http://127.0.0.1:99999/": ("fetch", "bad_url"),
        "gopher://127.0.0.1/1": ("fetch", "unsupported_scheme"),
        "javascript:alert(1)": ("fetch", "unsupported_scheme"),
        "dict://localhost:11211/stat": ("fetch", "unsupported_scheme"),
    }
