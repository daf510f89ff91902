"""The history backfill: a day's articles from a source's sitemaps, the Wayback Machine and CC-NEWS, loaded as an
ingest loads them, each finished (source, day, archive) recorded so a re-run skips it. Real servers on 127.0.0.1:
a small news site (date-partitioned sitemap index, articles, one gone), the fake Wayback Machine and CC-NEWS host
of tests/archive_fakes.py."""

from __future__ import annotations

import gzip
import io
import uuid
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from fetching.fetch import FetchPolicy
from pipeline.history import ArchiveEndpoints, could_hold, history_targets, monitor_keywords
from pipeline.redo import BackfillRequest, BackfillSteps, backfill_range
from pipeline.sources import load_sources
from tests.archive_fakes import Capture, FakeCCNews, FakeWayback
from tests.helpers.news_site import NewsSite, SiteHandler, article
from tests.helpers.route_server import serving
from warehouse.checks import table_checksum

POLICY = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0.0, backoff_base=0.01, max_attempts=2)
MONITORS = {"undocking": "undocking OR (module AND separation)"}
DAY = date(2022, 3, 5)
TABLES = ("articles", "rejects", "fetches", "near_duplicates", "monitor_matches", "history_days")


@pytest.fixture
def site():
    with NewsSite() as server:
        yield server


@pytest.fixture
def wayback(site):
    """The feed captured twice on the 5th (the same bytes) and once on the 4th; the gone and moved articles
    captured."""
    feed = site.url("/feed.xml")
    items = "".join(
        f"<item><link>{site.url(p)}</link><pubDate>{d}</pubDate></item>"
        for p, d in (
            ("/2022/03/05/4.html", "Sat, 05 Mar 2022 07:00:00 GMT"),
            ("/2022/03/05/gone.html", "Sat, 05 Mar 2022 06:00:00 GMT"),
            ("/2022/03/05/moved.html", "Sat, 05 Mar 2022 06:30:00 GMT"),  # now redirects to the home page
            ("/2022/03/04/old.html", "Fri, 04 Mar 2022 06:00:00 GMT"),  # another day's: left out
        )
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()
    server = FakeWayback()
    server.captures = sorted(
        [
            Capture("20220305080000", feed, "application/rss+xml", 200, "DFEED", body),
            Capture("20220305200000", feed, "application/rss+xml", 200, "DFEED", body),
            Capture("20220304080000", feed, "application/rss+xml", 200, "DOLD", body),
            Capture("20220305123000", site.url("/2022/03/05/gone.html"), "text/html", 200, "DGONE", article(5)),
            Capture("20220305124000", site.url("/2022/03/05/moved.html"), "text/html", 200, "DMOVED", article(7)),
        ],
        key=lambda c: (c.original, c.stamp),
    )
    with serving(server):
        yield server


def _record(writer: WARCWriter, uri: str, body: bytes, when: str):
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    return writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": when}
    )


@pytest.fixture
def ccnews(tmp_path, site):
    """March's listing: a file from the evening of the 4th (one record crawled after midnight) and one of the 5th
    (the site's pages with and without the keyword, another host's, and a page crawled on the 6th)."""
    server = FakeCCNews(tmp_path / "ccnews")
    month = "crawl-data/CC-NEWS/2022/03"
    files = {
        "CC-NEWS-20220304200000-00010.warc.gz": [
            (site.url("/cc/0.html"), article(10), "2022-03-04T21:00:00Z"),
            (site.url("/cc/1.html"), article(11, "Undocking at dawn."), "2022-03-05T00:30:00Z"),
        ],
        "CC-NEWS-20220305060000-00011.warc.gz": [
            (site.url("/cc/2.html"), article(12, "The undocking of Nauka."), "2022-03-05T06:10:00Z"),
            (site.url("/cc/3.html"), article(13), "2022-03-05T06:20:00Z"),  # no keyword
            ("https://other.example/4.html", article(14, "Undocking elsewhere."), "2022-03-05T06:30:00Z"),
            (site.url("/cc/5.html"), article(15, "Undocking tomorrow."), "2022-03-06T00:10:00Z"),
        ],
    }
    for name, records in files.items():
        with open(server.path_of(f"{month}/{name}"), "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for uri, body, when in records:
                writer.write_record(_record(writer, uri, body, when))
    server.add(f"{month}/warc.paths.gz", gzip.compress("".join(f"{month}/{n}\n" for n in files).encode()))
    with serving(server):
        yield server


@pytest.fixture
def sources_file(tmp_path, site) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[[sources]]
name = "site-sitemaps"
kind = "sitemap"
location = "{site.url("/sitemap_index.xml")}"

[[sources]]
name = "site-feed"
kind = "feed"
location = "{site.url("/feed.xml")}"
""",
        encoding="utf-8",
    )
    return path


def run_history(db, sources_file, archives=(), names=(), wayback=None, ccnews=None, force=False, days=(DAY,)):
    targets = history_targets(load_sources(sources_file), list(names), list(archives), POLICY)
    endpoints = ArchiveEndpoints(
        wayback.cdx_url if wayback else "http://127.0.0.1:9/cdx",
        wayback.playback if wayback else "http://127.0.0.1:9/web",
        ccnews.base_url if ccnews else "http://127.0.0.1:9",
        wayback_interval=0.0,
    )
    request = BackfillRequest(
        db=str(db),
        run_id=str(uuid.uuid4()),
        days=list(days),
        mode="history",
        policy=POLICY,
        monitors=MONITORS,
        targets=targets,
        endpoints=endpoints,
        force=force,
    )
    return backfill_range(request, BackfillSteps(extract_workers=1))


def rows(db, query: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(query).fetchall()


def checksums(db) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return [table_checksum(conn, t, exclude=("run_id", "finished_at")) for t in TABLES]


@pytest.mark.pure
def test_could_hold_by_lastmod_and_dates_in_names():
    old = datetime(2022, 3, 4, 23, 0)
    assert could_hold("https://x/sitemap-2022-03.xml", None, DAY)
    assert not could_hold("https://x/sitemap-2022-02.xml", None, DAY)
    assert could_hold("https://x/sitemap/2022/03/05.xml", None, DAY)
    assert could_hold("https://x/sitemap/2022/03/06.xml", None, DAY)  # a day away: another time zone's day
    assert not could_hold("https://x/sitemap/2022/03/07.xml", None, DAY)
    assert could_hold("https://x/sitemap-2022-02.xml", None, date(2022, 3, 1))
    assert could_hold("https://x/sitemap-20220305.xml", None, DAY)
    assert not could_hold("https://x/sitemap-2021.xml", None, DAY)
    assert not could_hold("https://x/sitemap-static.xml", old, DAY)
    assert could_hold("https://x:8080/sitemap-articles.xml", datetime(2022, 3, 5), DAY)


@pytest.mark.pure
def test_monitor_keywords_are_the_terms_or_none_with_not():
    assert monitor_keywords(MONITORS) == [b"undocking", b"module", b"separation"]
    assert monitor_keywords({"a": '"space station" OR dock*'}) == [(b"space", b"station"), b"dock"]
    assert monitor_keywords({"a": "undocking AND NOT sport"}) is None
    assert monitor_keywords({}) is None


@pytest.mark.pure
def test_history_targets_default_to_what_fits_each_source(sources_file):
    sources = load_sources(sources_file)
    pairs = lambda archives: [(t.source, t.archive) for t in history_targets(sources, [], archives, POLICY)]  # noqa: E731
    assert pairs([]) == [("site-sitemaps", "sitemaps"), ("site-feed", "wayback")]
    assert pairs(["sitemaps"]) == [("site-sitemaps", "sitemaps")]
    assert pairs(["wayback", "ccnews"]) == [
        ("site-sitemaps", "wayback"),
        ("site-sitemaps", "ccnews"),
        ("site-feed", "wayback"),
        ("site-feed", "ccnews"),
    ]
    with pytest.raises(ValueError, match="unknown archive"):
        history_targets(sources, [], ["archive.today"], POLICY)


@pytest.mark.warehouse
def test_history_sitemaps_opens_only_the_days_sitemaps(fresh_db, sources_file, site):
    summary = run_history(fresh_db, sources_file, ["sitemaps"])
    assert summary["loaded"] == 2 and summary["mode"] == "history"
    assert rows(fresh_db, "SELECT source_uri FROM articles ORDER BY 1") == [
        (site.url("/2022/03/05/1.html"),),
        (site.url("/2022/03/05/2.html"),),
    ]
    opened = [p for p in site.requests if p.endswith(".xml")]
    assert sorted(opened) == [
        "/sitemap-2022-03.xml",
        "/sitemap/2022/03/05.xml",
        "/sitemap/2022/03/06.xml",
        "/sitemap_index.xml",
    ]
    assert rows(fresh_db, "SELECT source_name, day, archive, found FROM history_days") == [
        ("site-sitemaps", DAY, "sitemaps", 2)
    ]
    assert rows(fresh_db, "SELECT monitor FROM monitor_matches") == [("undocking",)]


@pytest.mark.warehouse
def test_history_wayback_reads_the_feeds_captures_and_gone_articles(fresh_db, sources_file, site, wayback):
    summary = run_history(fresh_db, sources_file, [], ["site-feed"], wayback=wayback)
    assert summary["loaded"] == 3
    fetched = rows(
        fresh_db,
        "SELECT url, source_name, archive, archive_uri, archive_record_id, archived_at FROM fetches ORDER BY url",
    )
    gone, moved = site.url("/2022/03/05/gone.html"), site.url("/2022/03/05/moved.html")
    assert fetched == [
        (site.url("/2022/03/05/4.html"), "site-feed", None, None, None, None),
        (
            gone,
            "site-feed",
            "wayback",
            f"{wayback.playback}/20220305123000id_/{gone}",
            "DGONE",
            datetime(2022, 3, 5, 12, 30),
        ),
        # redirected to the home page: the article is no longer there, its capture is read instead
        (
            moved,
            "site-feed",
            "wayback",
            f"{wayback.playback}/20220305124000id_/{moved}",
            "DMOVED",
            datetime(2022, 3, 5, 12, 40),
        ),
    ]
    assert rows(fresh_db, f"SELECT title FROM articles WHERE source_uri = '{moved}'") == [("Bulletin 7",)]
    assert rows(fresh_db, f"SELECT count(*) FROM articles WHERE source_uri = '{site.url('/')}'") == [(0,)]
    assert rows(fresh_db, f"SELECT count(*) FROM articles WHERE source_uri = '{gone}'") == [(1,)]
    # The feed's two captures that day are one digest: one playback; the 4th's capture is not asked for.
    playbacks = [p for p in wayback.paths("/web/") if "feed.xml" in p]
    assert playbacks == [f"/web/20220305080000id_/{site.url('/feed.xml')}"]
    assert "/2022/03/04/old.html" not in site.requests


@pytest.mark.warehouse
def test_history_ccnews_keeps_the_days_records_of_the_sources_hosts_with_keywords(fresh_db, sources_file, site, ccnews):
    summary = run_history(fresh_db, sources_file, ["ccnews"], ["site-feed"], ccnews=ccnews)
    assert summary["loaded"] == 2
    fetched = rows(fresh_db, "SELECT url, source_name, archive, archive_uri, archived_at FROM fetches ORDER BY url")
    month = f"{ccnews.base_url}/crawl-data/CC-NEWS/2022/03"
    assert fetched == [
        (
            site.url("/cc/1.html"),
            "site-feed",
            "ccnews",
            f"{month}/CC-NEWS-20220304200000-00010.warc.gz",
            datetime(2022, 3, 5, 0, 30),
        ),
        (
            site.url("/cc/2.html"),
            "site-feed",
            "ccnews",
            f"{month}/CC-NEWS-20220305060000-00011.warc.gz",
            datetime(2022, 3, 5, 6, 10),
        ),
    ]
    assert rows(fresh_db, "SELECT count(*) FROM monitor_matches") == [(2,)]
    assert not [p for p in site.requests if p.startswith("/cc/")]  # read from the WARCs, never fetched


@pytest.mark.warehouse
def test_history_sources_show_in_rpt_ingest_health_like_the_others(fresh_db, sources_file, site, wayback, ccnews):
    """A source filled from the archives counts the backfill as its run (through `history_days`), with its outcome;
    the archives' rejects (the gone article's live 410 is replaced by its capture, so none here) group as any."""
    summary = run_history(fresh_db, sources_file, ["sitemaps", "wayback", "ccnews"], wayback=wayback, ccnews=ccnews)
    health = rows(
        fresh_db,
        "SELECT source_name, n, last_run_id, last_status, last_at IS NOT NULL FROM rpt_ingest_health "
        "WHERE kind = 'source' ORDER BY source_name",
    )
    run_id = summary["run_id"]
    assert health == [
        ("(direct)", 1, run_id, "completed", True),  # the backfill run itself, as before
        ("site-feed", 1, run_id, "completed", True),
        ("site-sitemaps", 1, run_id, "completed", True),
    ]


@pytest.mark.warehouse
def test_history_rerun_skips_finished_days_and_changes_nothing(fresh_db, sources_file, site, wayback, ccnews):
    first = run_history(fresh_db, sources_file, ["sitemaps", "wayback", "ccnews"], wayback=wayback, ccnews=ccnews)
    assert first["loaded"] == 7  # sitemaps 2, wayback 3, ccnews 2 (each URL once)
    done = rows(fresh_db, "SELECT source_name, archive FROM history_days ORDER BY 1, 2")
    assert len(done) == 5  # sitemaps for the sitemap source only; wayback and ccnews for both
    before, requests = checksums(fresh_db), len(site.requests) + len(wayback.requests) + len(ccnews.requests)
    again = run_history(fresh_db, sources_file, ["sitemaps", "wayback", "ccnews"], wayback=wayback, ccnews=ccnews)
    assert again["loaded"] == again["updated"] == again["unchanged"] == 0
    assert len(site.requests) + len(wayback.requests) + len(ccnews.requests) == requests  # nothing asked for
    assert checksums(fresh_db) == before
    forced = run_history(
        fresh_db, sources_file, ["sitemaps", "wayback", "ccnews"], wayback=wayback, ccnews=ccnews, force=True
    )
    assert forced["loaded"] == forced["updated"] == 0 and forced["unchanged"] == 7
    assert checksums(fresh_db) == before


@pytest.mark.warehouse
def test_history_killed_run_continues_after_its_last_finished_day(fresh_db, sources_file, site):
    days = [date(2022, 3, 4), DAY, date(2022, 3, 6)]
    calls = []

    def failing_on_the_sixth(day, *args, **kwargs):
        from pipeline.history import history_day

        calls.append(day)
        if day == date(2022, 3, 6) and len(calls) == 3:
            raise KeyboardInterrupt  # killed
        return history_day(day, *args, **kwargs)

    targets = history_targets(load_sources(sources_file), [], ["sitemaps"], POLICY)
    request = BackfillRequest(str(fresh_db), str(uuid.uuid4()), days, "history", policy=POLICY, targets=targets)
    with pytest.raises(KeyboardInterrupt):
        backfill_range(request, BackfillSteps(history_day=failing_on_the_sixth, extract_workers=1))
    assert rows(fresh_db, "SELECT day FROM history_days ORDER BY day") == [(date(2022, 3, 4),), (DAY,)]
    assert rows(fresh_db, "SELECT flow_name, status FROM runs") == [("backfill", "failed")]
    calls.clear()
    request = BackfillRequest(str(fresh_db), str(uuid.uuid4()), days, "history", policy=POLICY, targets=targets)
    summary = backfill_range(request, BackfillSteps(history_day=failing_on_the_sixth, extract_workers=1))
    assert calls == [date(2022, 3, 6)]  # the days finished before the kill are skipped
    assert summary["loaded"] == 2  # 6.html, and 3.html: published 23:30 at UTC-2, the 6th in UTC
    assert rows(fresh_db, "SELECT day FROM history_days ORDER BY day") == [(d,) for d in days]


@pytest.mark.warehouse
def test_history_transient_failures_leave_the_day_unfinished(fresh_db, sources_file, site):
    original = SiteHandler.do_GET

    def busy(handler):
        if handler.path == "/sitemap_index.xml":
            handler.server.requests.append(handler.path)
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        original(handler)

    SiteHandler.do_GET = busy
    try:
        summary = run_history(fresh_db, sources_file, ["sitemaps"])
    finally:
        SiteHandler.do_GET = original
    assert summary["rejected"] == 1
    assert rows(fresh_db, "SELECT count(*) FROM history_days") == [(0,)]


@pytest.mark.flows
def test_history_flow_runs_a_task_per_day_and_skips_finished_days(
    fresh_db, sources_file, site, ccnews, prefect_harness, monkeypatch
):
    import httpx

    from flows.backfill import backfill

    monkeypatch.setenv("MEDIAMON_CCNEWS_BASE_URL", ccnews.base_url)
    days = dict(start=date(2022, 3, 4), end=DAY, sources_file=str(sources_file), db=str(fresh_db))
    run = dict(mode="history", archives=["sitemaps", "ccnews"], fetch_policy=POLICY, monitors=MONITORS)
    summary = backfill(**days, **run)
    assert summary["loaded"] == 4 and summary["days"] == 2  # sitemaps 2, ccnews 2
    finished = rows(fresh_db, "SELECT day, archive, count(*) FROM history_days GROUP BY ALL ORDER BY ALL")
    assert finished == [(date(2022, 3, 4), "ccnews", 2), (date(2022, 3, 4), "sitemaps", 1)] + [
        (DAY, "ccnews", 2),
        (DAY, "sitemaps", 1),
    ]
    task_runs = httpx.post(
        f"{prefect_harness.api_url}/task_runs/filter",
        json={"flow_runs": {"id": {"any_": [summary["run_id"]]}}, "task_runs": {"name": {"like_": "history"}}},
        timeout=30,
    ).json()
    assert sorted(t["name"] for t in task_runs) == ["history 2022-03-04", "history 2022-03-05"]
    before = checksums(fresh_db)
    again = backfill(**days, **run)
    assert again["loaded"] == again["unchanged"] == 0 and checksums(fresh_db) == before
    with pytest.raises(ValueError, match="archives are for the history mode"):
        backfill(**days, mode="reextract", archives=["wayback"])


@pytest.mark.e2e
def test_cli_history_backfill_loads_the_day_and_refuses_archives_elsewhere(fresh_db, tmp_path, site, prefect_server):
    """`mediamon backfill --mode history` from the command line; `--archives` with another mode is a one-line error
    before any Prefect server is asked."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT
    from tests.helpers.prefect_server import mediamon_env

    sources = tmp_path / "cli-sources.toml"
    sources.write_text(
        f"""
[[sources]]
name = "site-sitemaps"
kind = "sitemap"
location = "{site.url("/sitemap_index.xml")}"
allowed_networks = ["127.0.0.1/32"]
min_host_interval = 0.0
""",
        encoding="utf-8",
    )
    mediamon = [
        str(Path(sys.executable).parent / "mediamon"),
        "backfill",
        "--start",
        "2022-03-05",
        "--end",
        "2022-03-05",
    ]
    common = ["--sources", str(sources), "--db", str(fresh_db)]
    env = mediamon_env(prefect_server.api_url)
    run = lambda *argv, **kw: subprocess.run(  # noqa: E731
        [*mediamon, *argv, *common], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, **kw
    )
    done = run("--mode", "history", "--archives", "sitemaps", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "backfill history of 1 days completed: 2 loaded" in done.stdout
    assert rows(fresh_db, "SELECT source_name, day, archive, found FROM history_days") == [
        ("site-sitemaps", DAY, "sitemaps", 2)
    ]
    before = checksums(fresh_db)
    again = run("--mode", "history", env=env)  # default archive of a sitemap source: its sitemaps, already done
    assert again.returncode == 0 and "0 loaded" in again.stdout and checksums(fresh_db) == before, again.stderr
    nowhere = {**env, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # nothing listens: a server would be an error
    for argv, message in [
        (["--archives", "wayback"], "archives are for the history mode, not reextract"),
        (["--mode", "history", "--source", "nope"], "unknown source(s) nope"),
    ]:
        bad = run(*argv, env=nowhere)
        assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1, bad.stderr[-2000:]
        assert bad.stderr.startswith("mediamon: ") and message in bad.stderr and not bad.stdout
