"""Web archive clients (fetching/archives.py) against fake archives on 127.0.0.1 (tests/archive_fakes.py): the
Wayback Machine's CDX index and raw playback, CC-NEWS listings and WARC files streamed over HTTP. Bad answers are
rejects, never exceptions; memory stays flat while a large remote WARC streams."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
from datetime import date, datetime

import pytest

from config.settings import load_settings
from extractors.records import Reject
from fetching.archives import (
    WAYBACK_INTERVAL,
    Snapshot,
    WaybackClient,
    ccnews_warcs,
    playback_url,
    stream_warc,
)
from fetching.fetch import Fetcher, FetchPolicy
from fetching.warc import WarcCounts, WarcReject, WarcResponse
from tests.archive_fakes import (
    ARTICLE,
    BROKEN,
    CUT_RECORDS,
    CUT_WARC,
    FEED,
    LOOPING,
    OUTSIDE,
    REDIRECTED,
    SMALL_WARC,
    TARGET,
    TOOLBAR,
    FakeCCNews,
    FakeWayback,
    write_warc,
)
from tests.helpers.route_server import serving

pytestmark = pytest.mark.pure

LOCAL = FetchPolicy(
    allowed_networks=("127.0.0.1/32",), min_host_interval=0.0, backoff_base=0.01, max_attempts=3, read_timeout=5
)


@pytest.fixture
def wayback():
    with serving(FakeWayback()) as server:
        yield server


@pytest.fixture(scope="module")
def ccnews(tmp_path_factory):
    with serving(FakeCCNews(tmp_path_factory.mktemp("ccnews"))) as server:
        yield server


def on_wayback(server: FakeWayback, work, policy: FetchPolicy = LOCAL, interval: float = 0.0, **kw):
    """Run `await work(client)` with a client of the fake archive."""

    async def run():
        async with WaybackClient(policy, server.cdx_url, server.playback, interval=interval, **kw) as client:
            return await work(client)

    return asyncio.run(run())


def snapshot(stamp: str, original: str = FEED) -> Snapshot:
    return Snapshot(datetime.strptime(stamp, "%Y%m%d%H%M%S"), original, "application/rss+xml", 200, "D")


# --- Wayback -----------------------------------------------------------------------------------------------------


def test_wayback_snapshots_in_range_collapsed_by_digest(wayback):
    found = on_wayback(wayback, lambda c: c.snapshots(FEED, date(2022, 3, 1), date(2022, 3, 31)))
    assert [s.stamp for s in found] == [f"202203{day:02d}060000" for day in range(1, 32)]  # the 18:00 twins gone
    first = found[0]
    assert first == Snapshot(datetime(2022, 3, 1, 6), FEED, "application/rss+xml", 200, "D0301")
    assert first.timestamp.tzinfo is None  # naive UTC, like fetched_at
    query = wayback.paths("/cdx/search/cdx")[0]
    for part in ("output=json", "from=20220301", "to=20220331", "filter=statuscode%3A200", "collapse=digest"):
        assert part in query


def test_wayback_snapshots_one_day_includes_its_last_capture(wayback):
    found = on_wayback(wayback, lambda c: c.snapshots(FEED, date(2022, 3, 6), date(2022, 3, 6), collapse=()))
    assert [s.stamp for s in found] == ["20220306060000", "20220306180000"]  # the 404 capture filtered out


def test_wayback_snapshots_prefix_and_hourly_collapse(wayback):
    found = on_wayback(
        wayback,
        lambda c: c.snapshots("news.example/2022/", date(2022, 3, 1), date(2022, 3, 31), match_type="prefix"),
    )
    assert [s.original for s in found] == [ARTICLE]
    hourly = on_wayback(
        wayback, lambda c: c.snapshots(FEED, date(2022, 3, 1), date(2022, 3, 1), collapse=("timestamp:10",))
    )
    assert len(hourly) == 2


def test_wayback_snapshots_paged_with_resume_key(wayback):
    found = on_wayback(wayback, lambda c: c.snapshots(FEED, date(2022, 3, 1), date(2022, 3, 31), page_size=7))
    assert len(found) == 31 and len(wayback.paths("/cdx/search/cdx")) == 5
    assert "resumeKey=7" in wayback.paths("/cdx/search/cdx")[1]


def test_wayback_snapshots_not_json_is_bad_cdx(wayback):
    found = on_wayback(wayback, lambda c: c.snapshots(BROKEN, date(2022, 3, 1), date(2022, 3, 2)))
    assert isinstance(found, Reject) and found.reason == "bad_cdx"


def test_wayback_snapshots_http_error_is_reject(wayback):
    async def work(client):
        client.cdx_url = wayback.base_url + "/no-such-endpoint"
        return await client.snapshots(FEED, date(2022, 3, 1), date(2022, 3, 2))

    found = on_wayback(wayback, work)
    assert isinstance(found, Reject) and found.reason == "http_404"


def test_wayback_snapshots_bad_range_raises(wayback):
    with pytest.raises(ValueError, match="ends"):
        on_wayback(wayback, lambda c: c.snapshots(FEED, date(2022, 3, 2), date(2022, 3, 1)))


def test_wayback_snapshots_retry_after_429(wayback):
    wayback.throttle = 1
    started = time.monotonic()
    found = on_wayback(wayback, lambda c: c.snapshots(FEED, date(2022, 3, 1), date(2022, 3, 1)))
    assert len(found) == 1 and len(wayback.paths("/cdx/search/cdx")) == 2
    assert time.monotonic() - started >= 0.95  # Retry-After: 1, not the 0.01 s backoff


def test_wayback_playback_url_raw():
    assert playback_url(snapshot("20220305120000", ARTICLE)) == (
        "https://web.archive.org/web/20220305120000id_/https://news.example/2022/03/05/undocking.html"
    )
    assert playback_url(snapshot("20220305120000"), "http://127.0.0.1:8/web/").startswith("http://127.0.0.1:8/web/2")


def test_wayback_fetch_snapshot_original_bytes(wayback):
    copy = on_wayback(wayback, lambda c: c.fetch_snapshot(snapshot("20220305060000")))
    assert (
        copy.reject is None
        and copy.result.body.startswith(b"<?xml")
        and b"/2022/03/05/story-1.html" in copy.result.body
    )
    assert copy.archived_at == datetime(2022, 3, 5, 6) and copy.archive_uri.endswith("20220305060000id_/" + FEED)


def test_wayback_fetch_snapshot_redirect_to_another_capture(wayback):
    copy = on_wayback(wayback, lambda c: c.fetch_snapshot(snapshot(REDIRECTED)))
    assert copy.reject is None and b"target.html" in copy.result.body
    assert copy.archived_at == datetime.strptime(TARGET, "%Y%m%d%H%M%S") and TARGET in copy.archive_uri
    assert copy.snapshot.stamp == REDIRECTED and len(copy.result.redirects) == 1


def test_wayback_fetch_snapshot_redirect_loop_is_reject(wayback):
    copy = on_wayback(wayback, lambda c: c.fetch_snapshot(snapshot(LOOPING[0])))
    assert copy.reject.reason == "too_many_redirects" and copy.archived_at is None


def test_wayback_fetch_snapshot_too_many_hops_is_reject(wayback):
    copy = on_wayback(wayback, lambda c: c.fetch_snapshot(snapshot(REDIRECTED)), max_hops=0)
    assert copy.reject.reason == "too_many_redirects"


def test_wayback_fetch_snapshot_never_leaves_the_archive(wayback, route_server):
    route_server.routes["/elsewhere"] = (200, {"Content-Type": "text/html"}, b"<html>live site</html>")
    wayback.outside = route_server.base_url + "/elsewhere"
    outside, toolbar = on_wayback(wayback, lambda c: c.fetch_snapshots([snapshot(OUTSIDE), snapshot(TOOLBAR)]))
    assert outside.reject.reason == "left_archive" and route_server.seen == []  # refused before the request
    assert toolbar.reject.reason == "left_archive" and toolbar.result.body == b""


def test_wayback_fetch_snapshot_missing_is_reject(wayback):
    copy = on_wayback(wayback, lambda c: c.fetch_snapshot(snapshot("20220305060001")))
    assert copy.reject.reason == "http_404"


def test_wayback_politeness_spaces_requests(wayback, monkeypatch):
    """The client starts one request to the archive at most every `interval`, counted from when the previous one
    actually got its turn. The start times are taken where the fetcher grants a request its turn (the server's
    clock, when its thread reads a request, lags by up to 0.3 s on a loaded machine). The event loop is blocked
    for 0.4 s during the second request's wait, as a loaded machine does: the second wakes late, and the third
    must still wait a whole interval after it (counted from the planned turn, it came 0.45 s after it in CI)."""
    granted: list[float] = []
    wait_for_turn = Fetcher._wait_for_turn

    async def recording(self, host: str) -> None:
        await wait_for_turn(self, host)
        granted.append(time.monotonic())

    async def work(client):
        asyncio.get_running_loop().call_later(0.3, time.sleep, 0.4)  # blocks the loop from 0.3 to 0.7 s
        return await client.fetch_snapshots([snapshot(s) for s in stamps])

    monkeypatch.setattr(Fetcher, "_wait_for_turn", recording)
    stamps = ["20220301060000", "20220302060000", "20220303060000", "20220304060000"]
    copies = on_wayback(wayback, work, interval=0.5)
    assert all(c.reject is None for c in copies)
    gaps = [b - a for a, b in zip(granted, granted[1:], strict=False)]
    assert len(granted) >= 4 and min(gaps) >= 0.49, gaps
    served = [t for t, path in wayback.requests if path.startswith("/web/")]
    assert len(served) == 4 and served[-1] - served[0] >= 1.0  # 1.5 s apart when sent: the server saw them spread


def test_wayback_default_politeness_one_per_second():
    client = WaybackClient(FetchPolicy(min_host_interval=0.5, max_redirects=10))
    assert WAYBACK_INTERVAL == 1.0 and client.policy.min_host_interval == 1.0
    assert client.policy.per_host_concurrency == 1 and client.policy.max_redirects == 3


def test_wayback_ssrf_guard_applies(wayback):
    found = on_wayback(
        wayback,
        lambda c: c.snapshots(FEED, date(2022, 3, 1), date(2022, 3, 1)),
        policy=FetchPolicy(min_host_interval=0),
    )
    assert isinstance(found, Reject) and found.reason == "private_address" and wayback.requests == []


def test_wayback_client_bad_endpoint_raises():
    with pytest.raises(ValueError, match="cdx_url"):
        WaybackClient(LOCAL, "ftp://archive.example/cdx")


# --- CC-NEWS listings --------------------------------------------------------------------------------------------


def names(found: list) -> list[str]:
    return [item.rsplit("/", 1)[1][8:22] for item in found if isinstance(item, str)]


def test_ccnews_warcs_range_includes_the_file_before(ccnews):
    found = ccnews_warcs(date(2022, 3, 2), date(2022, 3, 5), ccnews.base_url, LOCAL)
    assert names(found) == ["20220301150000", "20220302030000", "20220305100000"]
    assert found[1] == ccnews.url("crawl-data/CC-NEWS/2022/03/CC-NEWS-20220302030000-00005.warc.gz")
    assert "crawl-data/CC-NEWS/2022/02/warc.paths.gz" not in ccnews.requests[-2:]


def test_ccnews_warcs_month_start_reads_previous_month(ccnews):
    found = ccnews_warcs(date(2022, 3, 1), date(2022, 3, 1), ccnews.base_url, LOCAL)
    assert names(found) == ["20220228220000", "20220301030000", "20220301150000"]


def test_ccnews_warcs_missing_listing_is_reject(ccnews):
    found = ccnews_warcs(date(2022, 3, 31), date(2022, 4, 2), ccnews.base_url, LOCAL)
    assert names(found) == ["20220305100000", "20220331230000"]
    assert [r.reason for r in found if isinstance(r, Reject)] == ["http_404"]
    assert "2022/04/warc.paths.gz" in found[-1].detail


def test_ccnews_warcs_listing_not_gzip_is_reject(ccnews):
    found = ccnews_warcs(date(2022, 5, 10), date(2022, 5, 11), ccnews.base_url, LOCAL)
    assert [r.reason for r in found] == ["bad_listing"]


def test_ccnews_warcs_listing_with_content_encoding_gzip(route_server):
    listing = b"crawl-data/CC-NEWS/2022/07/CC-NEWS-20220701000000-00001.warc.gz\n"
    encoded = {"Content-Type": "text/plain", "Content-Encoding": "gzip"}
    route_server.routes["/crawl-data/CC-NEWS/2022/07/warc.paths.gz"] = (200, encoded, gzip.compress(listing))
    found = ccnews_warcs(date(2022, 7, 1), date(2022, 7, 1), route_server.base_url, LOCAL)
    assert names(found) == ["20220701000000"] and isinstance(found[-1], Reject)  # June's listing: a 404


def test_ccnews_warcs_bad_range_raises(ccnews):
    with pytest.raises(ValueError, match="ends"):
        ccnews_warcs(date(2022, 3, 2), date(2022, 3, 1), ccnews.base_url, LOCAL)


# --- CC-NEWS WARC streaming ----------------------------------------------------------------------------------------


def streamed(url: str, **kw) -> tuple[list[WarcResponse], list[WarcReject], WarcCounts]:
    counts = WarcCounts()
    items = list(stream_warc(url, policy=LOCAL, counts=counts, **kw))
    return [i for i in items if isinstance(i, WarcResponse)], [i for i in items if isinstance(i, WarcReject)], counts


def test_stream_warc_all_hosts(ccnews):
    responses, rejects, counts = streamed(ccnews.url(SMALL_WARC))
    assert len(responses) == 5 and rejects == []
    assert counts.skipped["request"] == 1 and counts.skipped["not_200"] == 1 and counts.responses == 5
    assert responses[0].target_uri == "https://news.example/a.html" and b"Undocking" in responses[0].body


def test_stream_warc_host_filter(ccnews):
    responses, _, counts = streamed(ccnews.url(SMALL_WARC), hosts={"news.example"})
    assert [r.target_uri for r in responses] == [
        "https://news.example/a.html",
        "https://www.news.example/b.html",
        "https://news.example/c.html",
    ]
    assert counts.skipped["other_host"] == 2 and counts.responses == 3


def test_stream_warc_keyword_prefilter(ccnews):
    responses, _, counts = streamed(ccnews.url(SMALL_WARC), hosts={"news.example"}, keywords=[b"undocking"])
    assert [r.target_uri for r in responses] == ["https://news.example/a.html"]
    # The host is checked first, before the body is read: other.example's two pages are other_host, whatever
    # their words; news.example's two pages without the keyword are no_keyword.
    assert counts.skipped["no_keyword"] == 2 and counts.skipped["other_host"] == 2


def test_stream_warc_truncated_yields_records_before_the_cut(ccnews):
    responses, rejects, _ = streamed(ccnews.url(CUT_WARC))
    assert 0 < len(responses) < CUT_RECORDS
    assert [r.target_uri for r in responses] == [f"https://news.example/p/{n}.html" for n in range(len(responses))]
    assert [r.reject.reason for r in rejects] == ["truncated_warc"]


def test_stream_warc_reads_every_gzip_member_despite_content_encoding(ccnews, route_server):
    stored = {"Content-Type": "application/warc", "Content-Encoding": "gzip"}  # object metadata some hosts set
    route_server.routes["/w.warc.gz"] = (200, stored, (ccnews.root / SMALL_WARC).read_bytes())
    responses, rejects, _ = streamed(route_server.base_url + "/w.warc.gz")
    assert len(responses) == 5 and rejects == []
    assert route_server.headers_of("/w.warc.gz")[0]["accept-encoding"] == "identity"


def test_stream_warc_missing_file_is_reject(ccnews):
    responses, rejects, _ = streamed(ccnews.url("crawl-data/CC-NEWS/2022/03/CC-NEWS-20220301030000-00003.warc.gz"))
    assert responses == [] and [r.reject.reason for r in rejects] == ["http_404"]


def test_stream_warc_ssrf_guard_applies(ccnews):
    before = len(ccnews.requests)
    items = list(stream_warc(ccnews.url(SMALL_WARC), policy=FetchPolicy()))
    assert [i.reject.reason for i in items] == ["private_address"] and len(ccnews.requests) == before


def test_stream_warc_retries_after_503(ccnews):
    ccnews.busy[SMALL_WARC] = 2
    before = ccnews.requests.count(SMALL_WARC)
    responses, rejects, _ = streamed(ccnews.url(SMALL_WARC))
    assert len(responses) == 5 and rejects == [] and ccnews.requests.count(SMALL_WARC) - before == 3


def test_stream_warc_memory_flat_on_a_large_file(ccnews):
    path = "crawl-data/CC-NEWS/2022/03/CC-NEWS-20220331230000-00007.warc"
    write_warc(ccnews.path_of(path), 1000, 20_000, compress=False)
    size = ccnews.path_of(path).stat().st_size
    tracemalloc.start()
    try:
        counts = WarcCounts()
        kept = sum(1 for _ in stream_warc(ccnews.url(path), policy=LOCAL, keywords=[b"undocking"], counts=counts))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 20_000_000 and kept == 100 and counts.skipped["no_keyword"] == 900
    assert peak < 4_000_000, f"peak {peak:,} bytes while streaming {size:,}"


# --- settings ----------------------------------------------------------------------------------------------------


def test_settings_archive_endpoints():
    defaults = load_settings({})
    assert defaults.wayback_cdx_url == "https://web.archive.org/cdx/search/cdx"
    assert defaults.wayback_playback_url == "https://web.archive.org/web"
    assert defaults.ccnews_base_url == "https://data.commoncrawl.org"
    local = load_settings(
        {
            "MEDIAMON_WAYBACK_CDX_URL": "http://127.0.0.1:1/cdx",
            "MEDIAMON_WAYBACK_PLAYBACK_URL": "http://127.0.0.1:1/web",
            "MEDIAMON_CCNEWS_BASE_URL": "http://127.0.0.1:2",
        }
    )
    assert (local.wayback_cdx_url, local.wayback_playback_url, local.ccnews_base_url) == (
        "http://127.0.0.1:1/cdx",
        "http://127.0.0.1:1/web",
        "http://127.0.0.1:2",
    )
