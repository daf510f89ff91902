"""The fetcher against a real HTTP server on 127.0.0.1: politeness, retries, limits, SSRF guard."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc

import httpx
import pytest

from fetching.fetch import Fetcher, FetchPolicy, Validators, is_public_address, retry_after_seconds

pytestmark = pytest.mark.pure

FAST = dict(min_host_interval=0.0, backoff_base=0.01, max_attempts=3, connect_timeout=2, read_timeout=2)
LOCAL = FetchPolicy(allowed_networks=("127.0.0.1/32",), **FAST)


def fetch(url: str, policy: FetchPolicy = LOCAL, validators: Validators | None = None, expect: str = "page"):
    async def run():
        async with Fetcher(policy) as fetcher:
            return await fetcher.fetch(url, validators, expect)

    return asyncio.run(run())


@pytest.fixture
def site(fixture_site):
    fixture_site.reset()
    return fixture_site


def test_fetch_article_page(site):
    result = fetch(site.url("/articles/a1.html"))
    assert result.reject is None and result.status == 200
    assert b"<article" in result.body and result.content_type == "text/html" and result.charset == "utf-8"
    assert site.requests("/articles/a1.html")[0]["user-agent"] == LOCAL.user_agent


def test_fetch_robots_disallowed_is_not_requested(site):
    result = fetch(site.url("/private/secret.html"))
    assert result.reject.reason == "robots_disallowed"
    assert site.hits("/private/secret.html") == 0 and site.hits("/robots.txt") == 1


def test_fetch_robots_cached_per_host(site):
    async def run():
        async with Fetcher(LOCAL) as fetcher:
            return await fetcher.fetch_many([site.url(f"/articles/a{i}.html") for i in (1, 2, 3, 4)])

    assert all(r.status == 200 for r in asyncio.run(run()))
    assert site.hits("/robots.txt") == 1


def test_fetch_conditional_get_returns_304(site):
    first = fetch(site.url("/etag.html"))
    assert first.status == 200 and first.etag == '"v1"' and first.last_modified
    second = fetch(site.url("/etag.html"), validators=Validators(first.etag, first.last_modified))
    assert second.not_modified and second.body == b"" and second.reject is None
    assert site.requests("/etag.html")[1]["if-none-match"] == '"v1"'


def test_fetch_retries_429_after_retry_after(site):
    started = time.monotonic()
    result = fetch(site.url("/flaky-429.html"))
    assert result.status == 200 and result.attempts == 2
    assert time.monotonic() - started >= 0.9  # waited the Retry-After second, not the 10 ms backoff


def test_fetch_retries_500_then_succeeds(site):
    result = fetch(site.url("/flaky-500.html"))
    assert result.status == 200 and result.attempts == 2 and site.hits("/flaky-500.html") == 2


def test_fetch_404_is_not_retried(site):
    result = fetch(site.url("/missing.html"))
    assert result.reject.reason == "http_404" and site.hits("/missing.html") == 1


def test_fetch_503_attempts_are_bounded(site):
    result = fetch(site.url("/always-503.html"))
    assert result.reject.reason == "http_503" and site.hits("/always-503.html") == LOCAL.max_attempts


def test_fetch_redirect_chain_is_recorded(site):
    result = fetch(site.url("/redirect/1"))
    assert result.status == 200 and result.final_url == site.url("/articles/a2.html")
    assert result.redirects == tuple(site.url(f"/redirect/{i}") for i in (1, 2, 3))


def test_fetch_redirect_loop_is_rejected(site):
    result = fetch(site.url("/loop/a"))
    assert result.reject.reason == "too_many_redirects" and "loop" in result.reject.detail
    assert site.hits("/loop/a") == 1 and site.hits("/loop/b") == 1


def test_fetch_credentials_in_url_are_neither_sent_nor_kept(site):
    result = fetch(f"http://user:s3cr3t@127.0.0.1:{site.port}/articles/a1.html")
    assert result.status == 200 and result.requested_url == result.final_url == site.url("/articles/a1.html")
    assert "authorization" not in site.requests("/articles/a1.html")[0]
    assert "s3cr3t" not in repr(result.headers) + result.requested_url + result.final_url


def test_fetch_redirect_location_credentials_are_removed(site, route_server):
    target = f"http://user:s3cr3t@127.0.0.1:{site.port}/articles/a2.html"
    route_server.routes["/go"] = (302, {"Location": target}, b"")
    result = fetch(f"http://user:s3cr3t@127.0.0.1:{route_server.server_address[1]}/go", _no_robots())
    assert result.status == 200 and result.final_url == site.url("/articles/a2.html")
    assert result.redirects == (route_server.base_url + "/go",)
    assert "authorization" not in site.requests("/articles/a2.html")[0]
    assert "authorization" not in route_server.headers_of("/go")[0]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://[::1/x", "bad_url"),
        ("http://127.0.0.1:99999/x", "bad_url"),
        ("http:///x", "bad_url"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("gopher://127.0.0.1/1", "unsupported_scheme"),
    ],
)
def test_fetch_redirect_to_unusable_location_is_a_reject(route_server, location, reason):
    route_server.routes["/go"] = (302, {"Location": location}, b"")
    result = fetch(route_server.base_url + "/go", _no_robots())
    assert result.reject is not None and result.reject.reason == reason
    assert result.final_url == route_server.base_url + "/go" and len(route_server.seen) == 1  # nothing else asked


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://[::1", "bad_url"),
        ("http://127.0.0.1:99999/", "bad_url"),
        ("gopher://127.0.0.1/1", "unsupported_scheme"),
    ],
)
def test_fetch_unusable_url_is_a_reject_not_an_exception(url, reason):
    result = fetch(url, _no_robots())
    assert result.reject is not None and result.reject.reason == reason


def _no_robots() -> FetchPolicy:
    return FetchPolicy(allowed_networks=("127.0.0.1/32",), respect_robots=False, **FAST)


def test_fetch_slow_response_times_out(site):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0, read_timeout=0.3, max_attempts=1)
    assert fetch(site.url("/slow.html"), policy).reject.reason == "timeout"


def test_fetch_drip_feed_hits_total_timeout(site):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0, total_timeout=1.0, max_attempts=1)
    started = time.monotonic()
    assert fetch(site.url("/drip.html"), policy).reject.reason == "timeout"
    assert time.monotonic() - started < 5


def test_fetch_gzip_bomb_is_too_large_and_memory_stays_flat(site):
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0, max_bytes=2_000_000)
    tracemalloc.start()
    result = fetch(site.url("/bomb.html"), policy)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.reject.reason == "too_large"
    assert peak < 3 * policy.max_bytes + 8_000_000


def test_fetch_pdf_is_not_html(site):
    assert fetch(site.url("/doc.pdf")).reject.reason == "not_html"


def test_fetch_feed_expectation_accepts_xml(site):
    result = fetch(site.url("/feed.xml"), expect="feed")
    assert result.status == 200 and b"<rss" in result.body


def test_fetch_connection_refused_is_connect_error():
    closed_port_url = "http://127.0.0.1:9/nothing.html"  # discard port, nothing listens here
    policy = FetchPolicy(
        allowed_networks=("127.0.0.1/32",), min_host_interval=0, backoff_base=0.01, max_attempts=2, respect_robots=False
    )
    result = fetch(closed_port_url, policy)
    assert result.reject.reason == "connect_error" and result.attempts == 2


def test_fetch_reset_mid_body_is_retried_then_rejected():
    """A connection dropped mid-body (a fault a local socket cannot easily stage) via a mock transport."""
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadError("connection reset by peer")

    policy = FetchPolicy(
        allow_private_hosts=True, min_host_interval=0, backoff_base=0.01, max_attempts=3, respect_robots=False
    )

    async def run():
        async with Fetcher(policy, transport=httpx.MockTransport(handler)) as fetcher:
            return await fetcher.fetch("http://127.0.0.1/reset.html")

    result = asyncio.run(run())
    assert result.reject.reason == "connect_error" and len(calls) == 3


# SSRF guard: only loopback names and addresses, with the allowance off.


def test_ssrf_guard_refuses_loopback_names_and_addresses(site):
    policy = FetchPolicy(**FAST)
    for url in (
        site.url("/articles/a1.html"),
        f"http://localhost:{site.port}/articles/a1.html",
        f"http://127.0.0.2:{site.port}/articles/a1.html",
        f"http://[::1]:{site.port}/articles/a1.html",
    ):
        result = fetch(url, policy)
        assert result.reject.reason == "private_address", url
    assert site.hits("/articles/a1.html") == 0 and site.hits("/robots.txt") == 0


def test_ssrf_guard_checks_every_redirect_hop(site):
    result = fetch(site.url("/redirect-to-127-0-0-2"))  # 127.0.0.1 allowed explicitly, 127.0.0.2 not
    assert result.reject.reason == "private_address" and "127.0.0.2" in result.reject.detail
    assert result.redirects == (site.url("/redirect-to-127-0-0-2"),)


def test_ssrf_guard_allowance_on_lets_loopback_through(site):
    result = fetch(f"http://localhost:{site.port}/articles/a1.html", FetchPolicy(allow_private_hosts=True, **FAST))
    assert result.status == 200


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_is_public_address_loopback_is_not_public(address):
    assert is_public_address(address) is False


def test_retry_after_parses_seconds_and_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Sat, 05 Mar 2022 10:00:10 GMT", now=1646474400.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_fetch_policy_validates():
    with pytest.raises(ValueError, match="per_host_concurrency"):
        FetchPolicy(per_host_concurrency=0)
    with pytest.raises(ValueError):
        FetchPolicy(allowed_networks=("not-a-network",))


_PAGE_HALVES = (b"<html><body><p>First member: the Russian segment undocks.</p>", b"<p>Second member: it leaves.</p>")


@pytest.mark.parametrize(
    ("name", "body", "encoding", "expected"),
    [
        (
            "two members",
            gzip.compress(_PAGE_HALVES[0]) + gzip.compress(_PAGE_HALVES[1]),
            "gzip",
            b"".join(_PAGE_HALVES),
        ),
        # A member boundary split so that only one byte of the next member's magic is in the first chunk.
        ("many small members", b"".join(gzip.compress(bytes([b])) for b in _PAGE_HALVES[1]), "gzip", _PAGE_HALVES[1]),
        ("zero padding after the member", gzip.compress(_PAGE_HALVES[0]) + bytes(600), "gzip", _PAGE_HALVES[0]),
        ("x-gzip, two members", gzip.compress(_PAGE_HALVES[0]) + gzip.compress(_PAGE_HALVES[1]), "x-gzip", None),
    ],
)
def test_fetch_gzip_reads_every_member(route_server, name, body, encoding, expected):
    route_server.routes["/z"] = (200, {"Content-Type": "text/html", "Content-Encoding": encoding}, body)
    result = fetch(route_server.base_url + "/z", _no_robots())
    assert result.reject is None, (name, result.reject)
    assert result.body == (expected or b"".join(_PAGE_HALVES)), name


def test_fetch_gzip_truncated_second_member_is_bad_encoding(route_server):
    second = gzip.compress(_PAGE_HALVES[1])
    body = gzip.compress(_PAGE_HALVES[0]) + second[: len(second) // 2]
    route_server.routes["/z"] = (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, body)
    result = fetch(route_server.base_url + "/z", _no_robots())
    assert result.reject is not None and result.reject.reason == "bad_encoding"


def test_fetch_gzip_members_together_over_the_cap_are_too_large(route_server):
    """Each member is under the cap; together they are over it."""
    member = gzip.compress(b"<p>" + b"x" * 600_000 + b"</p>")
    route_server.routes["/z"] = (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, member * 4)
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), respect_robots=False, max_bytes=2_000_000, **FAST)
    assert fetch(route_server.base_url + "/z", policy).reject.reason == "too_large"
