"""Web ingestion end to end: the real flow and CLI against the fixture site on 127.0.0.1."""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from extractors.listings import parse_feed, parse_sitemap, parse_url_list
from fetching.fetch import FetchPolicy
from flows.ingest import ingest
from tests import fixture_site as fs
from tests.helpers.prefect_server import mediamon_env
from warehouse.checks import run_data_checks, table_checksum

POLICY = FetchPolicy(
    allowed_networks=("127.0.0.1/32",),
    min_host_interval=0.0,
    backoff_base=0.01,
    max_attempts=3,
    read_timeout=1.0,
    total_timeout=5.0,
)
MEDIAMON = Path(sys.executable).parent / "mediamon"


def query(db, sql, params=()):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def site(fixture_site):
    fixture_site.reset()
    return fixture_site


@pytest.mark.pure
def test_parse_every_feed_format(site):
    import httpx

    for path, expected in fs.FEED_LINKS.items():
        listing = parse_feed(httpx.get(site.url(path)).content, site.url(path))
        assert [link.url for link in listing.links] == [site.url(p) for p in expected], path
        if path != fs.RSS091_PATH:  # RSS 0.91 items carry no dates
            assert all(link.published_at for link in listing.links), path


@pytest.mark.pure
def test_parse_sitemaps_gzip_and_news_dates(site):
    import httpx

    index = parse_sitemap(httpx.get(site.url(fs.SITEMAP_INDEX_PATH)).content, 10_000_000)
    assert index.kind == "sitemap_index" and index.sitemaps == tuple(site.url(p) for p in fs.SITEMAP_INDEX_CHILDREN)
    child = parse_sitemap(httpx.get(site.url(fs.SITEMAP_GZ_PATH)).content, 10_000_000)
    assert [link.url for link in child.links] == [site.url(p) for p in fs.SITEMAP_LINKS[fs.SITEMAP_GZ_PATH]]
    news = parse_sitemap(httpx.get(site.url(fs.NEWS_SITEMAP_PATH)).content, 10_000_000)
    assert {link.url: link.published_at for link in news.links} == {
        site.url(fs.A3_PATH): datetime(2022, 3, 5, 12, 0),
        site.url(fs.A4_PATH): datetime(2022, 3, 6, 8, 30),
    }


@pytest.mark.pure
def test_parse_url_list_skips_comments_and_blanks_rejects_bad_lines():
    text = "# picks\nhttps://a.example/x?utm_source=t\n\nhttps://a.example/x\nnot a url\nhttps://b.example/y  # c\n"
    urls, rejects = parse_url_list(text)
    assert urls == ["https://a.example/x", "https://b.example/y"]
    assert [(key, r.reason) for key, r in rejects] == [("not a url", "bad_url")]


@pytest.mark.pure
def test_parse_sitemap_rejects_bombs_and_garbage():
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    assert parse_sitemap(bomb, 1_000_000).reason == "too_large"
    assert parse_sitemap(b"<html><body>not xml", 1_000_000).reason == "bad_sitemap"


@pytest.mark.flows
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_web_site(site, fresh_db):
    urls = [
        site.url(p)
        for p in (
            fs.RSS_PATH,
            fs.ATOM_PATH,
            fs.RSS1_PATH,
            fs.RSS091_PATH,
            fs.SITEMAP_INDEX_PATH,
            fs.SITEMAP_SELF_PATH,
            fs.CP1251_PATH,
            fs.TRACKING_PATH,
            fs.PDF_PATH,
            fs.MISSING_PATH,
            fs.PRIVATE_PATH,
            fs.REDIRECT_START_PATH,
            fs.LOOP_A_PATH,
            fs.FLAKY_429_PATH,
            fs.FLAKY_500_PATH,
            fs.ETAG_PATH,
            fs.BOMB_PATH,
        )
    ]
    summary = ingest(urls=urls, db=str(fresh_db), fetch_policy=POLICY, max_document_bytes=2_000_000)
    articles = dict(query(fresh_db, "SELECT source_uri, title FROM articles"))
    expected = {
        site.url(p)
        for p in (
            *fs.ARTICLE_PATHS,
            fs.CP1251_PATH,
            fs.TRACKING_PATH,
            fs.FLAKY_429_PATH,
            fs.FLAKY_500_PATH,
            fs.ETAG_PATH,
        )
    }
    assert set(articles) == expected
    for path, title in fs.ARTICLE_TITLES.items():
        assert articles[site.url(path)] == title
    assert articles[site.url(fs.CP1251_PATH)] == fs.CP1251_TITLE
    rejects = {
        uri.removeprefix(site.base_url): reason
        for uri, reason in query(fresh_db, "SELECT source_uri, reason FROM rejects")
    }
    assert rejects == {
        fs.PDF_PATH: "not_html",
        fs.MISSING_PATH: "http_404",
        fs.PRIVATE_PATH: "robots_disallowed",
        fs.LOOP_A_PATH: "too_many_redirects",
        fs.BOMB_PATH: "too_large",
        fs.SITEMAP_SELF_PATH: "sitemap_loop",
    }
    assert summary["loaded"] == len(expected) and summary["rejected"] == 6
    assert summary["unchanged"] == 1  # a2 came twice: from the feeds and through /redirect/1
    assert site.hits(fs.PRIVATE_PATH) == 0
    # the redirect chain is stored; the article's source is the final URL
    (redirects,) = query(fresh_db, "SELECT redirects FROM fetches WHERE url = ?", [site.url(fs.REDIRECT_START_PATH)])[0]
    assert redirects == [site.url(f"/redirect/{i}") for i in (1, 2, 3)]
    # canonical URL without tracking parameters; language of the windows-1251 page
    (canonical,) = query(fresh_db, "SELECT url FROM articles WHERE source_uri = ?", [site.url(fs.TRACKING_PATH)])[0]
    assert canonical == site.url("/articles/canonical-story.html?id=7")
    assert query(fresh_db, "SELECT language FROM articles WHERE source_uri = ?", [site.url(fs.CP1251_PATH)]) == [
        ("ru",)
    ]
    # news sitemap dates are kept with the fetch
    dates = dict(query(fresh_db, "SELECT url, listed_published_at FROM fetches WHERE listed_published_at IS NOT NULL"))
    assert dates[site.url(fs.A4_PATH)] == datetime(2022, 3, 6, 8, 30)
    # raw bodies are kept, compressed, for re-extraction
    body, size = query(fresh_db, "SELECT body_gzip, body_bytes FROM fetches WHERE url = ?", [site.url(fs.A1_PATH)])[0]
    assert len(gzip.decompress(body)) == size and b"<article" in gzip.decompress(body)
    with duckdb.connect(str(fresh_db), read_only=True) as conn:
        assert run_data_checks(conn) == {}
        before = [table_checksum(conn, t) for t in ("articles", "rejects", "fetches")]

    site.reset()
    again = ingest(urls=urls, db=str(fresh_db), fetch_policy=POLICY, max_document_bytes=2_000_000)
    assert again["loaded"] == 0 and again["updated"] == 0 and again["unchanged"] == len(expected) + 1
    assert site.requests(fs.ETAG_PATH)[0]["if-none-match"] == fs.ETAG_VALUE
    with duckdb.connect(str(fresh_db), read_only=True) as conn:
        assert [table_checksum(conn, t) for t in ("articles", "rejects", "fetches")] == before


@pytest.mark.flows
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_ssrf_guard_on_feed_links(site, fresh_db):
    """Only 127.0.0.1 is allowed: the feed's 127.0.0.2 link is refused, and localhost only if it resolves elsewhere."""
    ingest(urls=[site.url(fs.SSRF_FEED_PATH)], db=str(fresh_db), fetch_policy=POLICY)
    rejects = dict(query(fresh_db, "SELECT source_uri, reason FROM rejects"))
    loaded = {r[0] for r in query(fresh_db, "SELECT source_uri FROM articles")}
    assert rejects[f"http://127.0.0.2:{site.port}/articles/a2.html"] == "private_address"
    localhost = f"http://localhost:{site.port}/articles/a1.html"
    resolved = {info[4][0] for info in socket.getaddrinfo("localhost", site.port, type=socket.SOCK_STREAM)}
    if resolved == {"127.0.0.1"}:
        assert localhost in loaded
    else:
        assert rejects[localhost] == "private_address" and localhost not in loaded


@pytest.mark.flows
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_url_list(site, fresh_db):
    summary = ingest(url_lists=[site.url(fs.URLS_TXT_PATH)], db=str(fresh_db), fetch_policy=POLICY)
    assert summary["loaded"] == 2 and summary["rejected"] == 1


@pytest.mark.e2e
def test_cli_ingest_feed_url_with_private_hosts_allowed(site, tmp_path, prefect_server):
    db = tmp_path / "web.duckdb"
    env = mediamon_env(prefect_server.api_url)
    done = subprocess.run(
        [str(MEDIAMON), "ingest", site.url(fs.RSS_PATH), "--allow-private-hosts", "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 seen, 2 loaded" in done.stdout
    assert {r[0] for r in query(db, "SELECT source_uri FROM articles")} == {site.url(fs.A1_PATH), site.url(fs.A2_PATH)}


@pytest.mark.e2e
def test_cli_ingest_refuses_loopback_without_allowance(site, tmp_path, prefect_server):
    db = tmp_path / "web.duckdb"
    env = mediamon_env(prefect_server.api_url)
    done = subprocess.run(
        [str(MEDIAMON), "ingest", site.url(fs.RSS_PATH), "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 seen, 0 loaded" in done.stdout and "1 rejects" in done.stdout
    assert query(db, "SELECT stage, reason FROM rejects") == [("fetch", "private_address")]
    assert site.hits(fs.RSS_PATH) == 0


@pytest.mark.e2e
def test_cli_ingest_credentials_never_stored_nor_sent_and_bad_urls_are_rejects(
    site, tmp_path, route_server, prefect_server
):
    """URLs with user:password@ on the command line, in a --urls file, in a sitemap and in a redirect's
    Location: the pages load, no request carries the credentials, and the secret is in no table; malformed
    URLs beside them are rejects and the run completes."""
    secret = "s3cr3t-Pa55"
    port = route_server.server_address[1]
    sitemap = (
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>http://user:{secret}@127.0.0.1:{site.port}{fs.A1_PATH}</loc></url>"
        f"<url><loc>https://[::1</loc></url>"
        f"<url><loc>gopher://127.0.0.1/1</loc></url>"
        f"<url><loc>{site.url(fs.A3_PATH)}</loc></url>"
        f"</urlset>"
    ).encode()
    route_server.routes["/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, sitemap)
    location = f"http://user:{secret}@127.0.0.1:{site.port}{fs.A2_PATH}"
    route_server.routes["/go"] = (302, {"Location": location}, b"")
    picks = tmp_path / "picks.txt"
    picks.write_text(f"http://user:{secret}@127.0.0.1:{port}/go\nhttps://[::1\nftp://127.0.0.1/x\n")
    db = tmp_path / "web.duckdb"
    env = mediamon_env(prefect_server.api_url)
    done = subprocess.run(
        [
            str(MEDIAMON),
            "ingest",
            f"http://user:{secret}@127.0.0.1:{site.port}{fs.A4_PATH}",
            f"http://:{secret}@127.0.0.1:{port}/sitemap.xml",
            f"http://user:{secret}@[::1",
            "--urls",
            str(picks),
            "--allow-private-hosts",
            "--db",
            str(db),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert secret not in done.stdout + done.stderr
    assert {r[0] for r in query(db, "SELECT source_uri FROM articles")} == {
        site.url(p) for p in (fs.A1_PATH, fs.A2_PATH, fs.A3_PATH, fs.A4_PATH)
    }
    assert dict(query(db, "SELECT source_uri, reason FROM rejects")) == {
        "https://[::1": "bad_url",
        "http://[::1": "bad_url",
        "gopher://127.0.0.1/1": "unsupported_scheme",
        "ftp://127.0.0.1/x": "unsupported_scheme",
    }
    (redirects,) = query(db, "SELECT redirects FROM fetches WHERE final_url = ?", [site.url(fs.A2_PATH)])[0]
    assert redirects == [f"{route_server.base_url}/go"]
    for path in (fs.A1_PATH, fs.A2_PATH, fs.A4_PATH):
        assert site.requests(path) and all("authorization" not in h for h in site.requests(path)), path
    assert route_server.seen and all("authorization" not in h for _, h in route_server.seen)
    with duckdb.connect(str(db), read_only=True) as conn:
        columns = conn.execute(
            "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c"
            " JOIN duckdb_tables() t USING (database_name, schema_name, table_name) WHERE NOT c.internal"
        ).fetchall()
        assert len({(schema, table) for schema, table, _ in columns}) >= 5
        for schema, table, column in columns:
            found = conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?', [f"%{secret}%"]
            )
            assert found.fetchone() == (0,), f"{schema}.{table}.{column}"
