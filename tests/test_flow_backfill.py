"""The backfill flow: re-extract stored responses, refetch, re-dedup; validation before anything is touched."""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest

from extractors import EXTRACTOR_VERSION
from fetching.fetch import FetchPolicy
from flows.backfill import backfill
from flows.ingest import ingest
from pipeline.backfill import BackfillError, backfill_days
from tests import fixture_site as fs
from tests.conftest import REPO_ROOT
from tests.helpers.prefect_server import mediamon_env
from warehouse.checks import table_checksum

POLICY = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0.0, backoff_base=0.01)
TABLES = ("articles", "rejects", "fetches", "near_duplicates", "monitor_matches")
MARCH = dict(start=date(2022, 3, 1), end=date(2022, 3, 10))


def checksums(db) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return [table_checksum(conn, t, exclude=("run_id",)) for t in TABLES]


@pytest.fixture
def site_db(fixture_site, fresh_db, prefect_harness):
    fixture_site.reset()
    urls = [fixture_site.url(fs.RSS_PATH), fixture_site.url(fs.ATOM_PATH)]
    summary = ingest(urls=urls, db=str(fresh_db), fetch_policy=POLICY)
    assert summary["loaded"] == 4
    return fresh_db


@pytest.mark.flows
def test_backfill_reextract_restores_articles_and_is_idempotent(site_db, fixture_site):
    a1 = fixture_site.url(fs.A1_PATH)
    with duckdb.connect(str(site_db)) as conn:
        (text,) = conn.execute("SELECT text FROM articles WHERE source_uri = ?", [a1]).fetchone()
        conn.execute(  # what an older extractor might have left behind
            "UPDATE articles SET text = 'old output', content_hash = 'old', extractor_version = '0' "
            "WHERE source_uri = ?",
            [a1],
        )
    summary = backfill(**MARCH, mode="reextract", db=str(site_db), fetch_policy=POLICY)
    assert summary["updated"] == 1 and summary["unchanged"] == 3 and summary["days"] == 10
    with duckdb.connect(str(site_db), read_only=True) as conn:
        row = conn.execute("SELECT text, extractor_version FROM articles WHERE source_uri = ?", [a1]).fetchone()
        runs = conn.execute("SELECT flow_name, status FROM runs ORDER BY started_at").fetchall()
    assert row == (text, EXTRACTOR_VERSION)
    assert runs == [("ingest", "completed"), ("backfill", "completed")]
    before = checksums(site_db)
    again = backfill(**MARCH, mode="reextract", db=str(site_db), fetch_policy=POLICY)
    assert again["updated"] == 0 and again["loaded"] == 0 and checksums(site_db) == before


@pytest.mark.flows
def test_backfill_refetch_fetches_the_days_urls_again(site_db, fixture_site):
    before = checksums(site_db)
    fixture_site.reset()
    summary = backfill(
        start=date(2022, 3, 5), end=date(2022, 3, 5), mode="refetch", db=str(site_db), fetch_policy=POLICY
    )
    refetched = [p for p in fs.ARTICLE_PATHS if fixture_site.hits(p)]
    assert refetched and all(fs.PUBLISHED[p].startswith("2022-03-05") for p in refetched)
    assert summary["unchanged"] == len(refetched) and checksums(site_db) == before


@pytest.mark.flows
def test_backfill_rededup_recomputes_to_the_same_result(site_db):
    before = checksums(site_db)
    backfill(**MARCH, mode="rededup", db=str(site_db))
    assert checksums(site_db) == before


@pytest.mark.flows
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start=date(2022, 3, 10), end=date(2022, 3, 1)), "is before start"),
        (dict(start=date(2022, 1, 1), end=date(2022, 12, 31), max_days=92), "over the maximum of 92"),
        (dict(**MARCH, sources=["nope"], sources_file=str(REPO_ROOT / "sources.example.toml")), "unknown source"),
    ],
)
def test_backfill_invalid_input_fails_at_once_and_touches_nothing(site_db, kwargs, message):
    digest = hashlib.md5(site_db.read_bytes()).hexdigest()
    with pytest.raises(BackfillError, match=message):
        backfill(db=str(site_db), **kwargs)
    assert hashlib.md5(site_db.read_bytes()).hexdigest() == digest


@pytest.mark.pure
def test_backfill_days_lists_each_day():
    days = backfill_days(date(2022, 3, 30), date(2022, 4, 1), [], set(), 92)
    assert days == [date(2022, 3, 30), date(2022, 3, 31), date(2022, 4, 1)]


@pytest.mark.e2e
def test_cli_backfill_runs_and_rejects_bad_ranges(site_db, prefect_server):
    import subprocess
    import sys
    from pathlib import Path

    mediamon = Path(sys.executable).parent / "mediamon"
    env = mediamon_env(prefect_server.api_url)
    ok = subprocess.run(
        [str(mediamon), "backfill", "--start", "2022-03-01", "--end", "2022-03-10", "--db", str(site_db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "backfill reextract of 10 days completed: 0 loaded, 0 updated, 4 unchanged" in ok.stdout
    for argv, message in [
        (["--start", "2022-03-10", "--end", "2022-03-01"], "end 2022-03-01 is before start 2022-03-10"),
        (["--start", "2022-01-01", "--end", "2022-12-31"], "365 days from 2022-01-01 to 2022-12-31 is over"),
        (
            ["--start", "2022-03-01", "--end", "2022-03-02", "--source", "nope", "--sources", "sources.example.toml"],
            "unknown source(s) nope",
        ),
    ]:
        # Checked before Prefect starts a temporary server: the message alone, no traceback, no Prefect log.
        bad = subprocess.run(
            [str(mediamon), "backfill", *argv, "--db", str(site_db)],
            env={**env, "PREFECT_API_URL": "http://127.0.0.1:9/api"},  # nothing listens: a server would be an error
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1, bad.stderr[-2000:]
        assert bad.stderr.startswith("mediamon: ") and message in bad.stderr and not bad.stdout
