"""The one URL parser (extractors/urls.py) and everything that lists URLs: bad input is a reject, never an
exception, and credentials never come out of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import courlan
import pytest

from extractors.listings import parse_feed, parse_sitemap, parse_url_list
from extractors.records import Reject
from extractors.urls import (
    MAX_URL_LENGTH,
    normalize_url,
    parse_url,
    path_from_file_uri,
    reject_key,
    strip_userinfo,
)
from pipeline.sources import SourcesError, classify_target, read_url_list

pytestmark = pytest.mark.pure

NORMAL_URLS = [
    "https://space-news.example/articles/a3.html",
    "https://Space-News.EXAMPLE/articles/a3.html",
    "http://space-news.example:80/a.html",
    "https://space-news.example:443/a.html?b=2&a=1",
    "https://space-news.example/a.html?id=7&utm_source=feed&utm_medium=rss#comments",
    "https://space-news.example/a.html?fbclid=x&gclid=y",
    "https://space-news.example/путь/статья.html",
    "https://space-news.example/a b.html",
    "https://space-news.example/a\\b.html",
    "http://127.0.0.1:8080/articles/a1.html",
    "http://[::1]:8080/articles/a1.html",
    "http://localhost/x",
    "https://bücher.example/x",
    "https://xn--bcher-kva.example/x",
    "  https://space-news.example/padded.html  ",
]


def reason(result) -> str | None:
    return result.reason if isinstance(result, Reject) else None


@pytest.mark.parametrize("url", NORMAL_URLS)
def test_parse_url_normal_urls_normalize_as_courlan(url):
    assert parse_url(url) == courlan.normalize_url(url.strip(), strict=True)
    assert parse_url(parse_url(url)) == parse_url(url)  # idempotent: stored keys parse to themselves
    assert normalize_url(url) == parse_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1",
        "https://[::1/x",
        "http://[::1]x/",
        "http://[not-an-address]/",
        "http://[::1]]/",
    ],
)
def test_parse_url_broken_ipv6_brackets(url):
    result = parse_url(url)
    assert reason(result) == "bad_url" and url.split("://")[1][:4] in result.detail
    assert normalize_url(url) is None  # html.py's canonical URLs: None, never an exception


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h:99999/", "bad_url"),  # port out of range
        ("http://h:65536/", "bad_url"),
        ("http://h:0/", "bad_url"),
        ("http://h:abc/", "bad_url"),
        ("http:///x", "bad_url"),  # empty host
        ("http://user@/x", "bad_url"),
        ("http://", "bad_url"),
        ("http://ex ample.example/", "bad_url"),  # space in the host
        ("http://exa\\mple.example/x", "bad_url"),  # backslash in the host
        ("http:\\\\space-news.example\\x", "bad_url"),
        ("http:space-news.example/x", "bad_url"),  # no //
        ("http://a.example/\x00x", "bad_url"),  # control characters
        ("http://a.example/x\ty", "bad_url"),
        ("http://a.exa\nmple/", "bad_url"),
        ("http://a.example/\x7f", "bad_url"),
        ("http://☃.example/", "bad_url"),  # not a valid international name
        ("http://-lead.example/", "bad_url"),
        ("http://a..example/", "bad_url"),
        ("http://" + "a" * 64 + ".example/", "bad_url"),  # a label over 63 characters
        ("not a url", "bad_url"),
        ("", "bad_url"),
        ("space-news.example/a.html", "bad_url"),
        ("gopher://space-news.example/1", "unsupported_scheme"),
        ("ftp://space-news.example/a.html", "unsupported_scheme"),
        ("dict://space-news.example:11211/stat", "unsupported_scheme"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("data:text/html,<p>hi</p>", "unsupported_scheme"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("FTP://space-news.example/", "unsupported_scheme"),
    ],
)
def test_parse_url_malformed_is_a_reject(url, expected):
    assert reason(parse_url(url)) == expected
    assert reason(parse_url(url, normalize=False)) == expected


def test_parse_url_scheme_in_odd_case():
    assert parse_url("HTTP://Space-News.Example/A.html") == "http://space-news.example/A.html"
    assert parse_url("HtTpS://space-news.example/x") == "https://space-news.example/x"
    assert parse_url("HTTP://Space-News.Example/A.html", normalize=False) == "http://Space-News.Example/A.html"


def test_parse_url_over_long_is_bad_url():
    base = "https://space-news.example/"
    fits = base + "a" * (MAX_URL_LENGTH - len(base))
    assert parse_url(fits) == fits
    result = parse_url(fits + "a")
    assert reason(result) == "bad_url" and f"{MAX_URL_LENGTH + 1:,}" in result.detail
    assert len(result.detail) < 400  # the offending text is cut in the detail
    assert len(reject_key(fits + "a" * 100_000)) <= MAX_URL_LENGTH + 1


def test_parse_url_non_ascii_host_idna():
    assert parse_url("https://BÜCHER.example/x") == "https://bücher.example/x"
    assert parse_url("http://xn--bcher-kva.example/") == courlan.normalize_url("http://xn--bcher-kva.example/")


def test_parse_url_strips_userinfo():
    assert parse_url("http://user:secret@Space-News.example:80/a.html") == "http://space-news.example/a.html"
    assert parse_url("https://user:secret@space-news.example/a.html", normalize=False) == (
        "https://space-news.example/a.html"
    )
    assert parse_url("https://:secret@space-news.example/") == "https://space-news.example/"
    assert parse_url("https://us@er:sec@ret@space-news.example/") == "https://space-news.example/"
    for bad in ("http://user:secret@[::1", "http://user:secret@h:99999/", "gopher://user:secret@h/"):
        result = parse_url(bad)
        assert isinstance(result, Reject) and "secret" not in result.detail
        assert "secret" not in reject_key(bad) and "secret" not in strip_userinfo(bad)


def test_parse_url_never_raises_on_garbage():
    samples = ["http://[", "http://]", "http://[[::1]]/", "https://%zz/", "http://a.example:-1/", "\ud800http://x/"]
    samples += [f"http://{chr(c)}.example/" for c in range(0, 0x3000, 7)]
    for text in samples:
        result = parse_url(text)
        assert isinstance(result, (str, Reject))


def test_reject_key_escapes_control_characters():
    assert reject_key("http://a.example/\x00x") == "http://a.example/\\x00x"


def test_path_from_file_uri():
    assert path_from_file_uri("file:///tmp/x.html") == Path("/tmp/x.html")
    assert path_from_file_uri("file:///tmp/a%20b%C3%A9.html") == Path("/tmp/a bé.html")
    assert path_from_file_uri("FILE://localhost/tmp/x.html") == Path("/tmp/x.html")
    assert path_from_file_uri("file:/tmp/x.html") == Path("/tmp/x.html")
    for bad in (
        "file://fileserver.example/share/x.html",
        "file://user:secret@fileserver.example/x.html",
        "file:relative.html",
        "file:///tmp/x.html?q=1",
        "file:///tmp/%00x.html",
        "file://[::1/x",
    ):
        result = path_from_file_uri(bad)
        assert reason(result) == "bad_url", bad
        assert "secret" not in result.detail


def test_parse_sitemap_bad_loc_beside_good_ones():
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://space-news.example/a1.html</loc></url>"
        b"<url><loc>https://[::1</loc></url>"
        b"<url><loc>gopher://space-news.example/1</loc></url>"
        b"<url><loc>https://user:secret@space-news.example/a2.html</loc></url>"
        b"</urlset>"
    )
    listing = parse_sitemap(body, 1_000_000)
    assert [link.url for link in listing.links] == [
        "https://space-news.example/a1.html",
        "https://space-news.example/a2.html",
    ]
    assert {key: r.reason for key, r in listing.rejects} == {
        "https://[::1": "bad_url",
        "gopher://space-news.example/1": "unsupported_scheme",
    }


def test_parse_sitemap_index_bad_child_is_a_reject():
    body = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://space-news.example/s1.xml</loc></sitemap>"
        b"<sitemap><loc>http://h:99999/s2.xml</loc></sitemap>"
        b"</sitemapindex>"
    )
    listing = parse_sitemap(body, 1_000_000)
    assert listing.sitemaps == ("https://space-news.example/s1.xml",)
    assert [(key, r.reason) for key, r in listing.rejects] == [("http://h:99999/s2.xml", "bad_url")]


def test_parse_feed_bad_links_are_rejects():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>good</title><link>https://space-news.example/a.html?utm_source=x</link></item>
    <item><title>js</title><link>javascript:alert(1)</link></item>
    <item><title>port</title><link>https://space-news.example:99999/b.html</link></item>
    <item><title>creds</title><link>https://user:secret@space-news.example/c.html</link></item>
    </channel></rss>"""
    listing = parse_feed(body, "https://space-news.example/feed.xml")
    assert [link.url for link in listing.links] == [
        "https://space-news.example/a.html",
        "https://space-news.example/c.html",
    ]
    assert {key: r.reason for key, r in listing.rejects} == {
        "javascript:alert(1)": "unsupported_scheme",
        "https://space-news.example:99999/b.html": "bad_url",
    }


def test_parse_url_list_file_lines_rejected_in_remote_lists():
    urls, rejects = parse_url_list("file:///etc/passwd\nhttps://[::1\nhttps://space-news.example/a.html\n")
    assert urls == ["https://space-news.example/a.html"]
    assert {key: r.reason for key, r in rejects} == {
        "file:///etc/passwd": "unsupported_scheme",
        "https://[::1": "bad_url",
    }


def test_classify_target_routes_paths_urls_and_bad_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data:odd.html").write_text("a file whose name reads like a URL")
    assert classify_target("https://user:secret@Space-News.example/a.html?utm_source=x") == (
        "urls",
        "https://space-news.example/a.html",
    )
    assert classify_target("https://user:secret@[::1") == ("urls", "https://[::1")
    assert classify_target("gopher://space-news.example/1") == ("urls", "gopher://space-news.example/1")
    assert classify_target("javascript:alert(1)") == ("urls", "javascript:alert(1)")
    assert classify_target("file:///tmp/x.html") == ("paths", "file:///tmp/x.html")
    assert classify_target("seeds/000.txt") == ("paths", "seeds/000.txt")
    assert classify_target("notes:2024.txt") == ("paths", "notes:2024.txt")
    assert classify_target("data:odd.html") == ("paths", "data:odd.html")


def test_read_url_list_local_file(tmp_path):
    listing = tmp_path / "picks.txt"
    listing.write_text(
        "# picks\n"
        "https://user:secret@space-news.example/a.html\n"
        "https://[::1\n"
        "gopher://space-news.example/1\n"
        f"file://{tmp_path}/local.html\n"
        "https://space-news.example/b.html?utm_source=x\n"
    )
    params = read_url_list(str(listing))
    assert params == {
        "urls": [
            "https://space-news.example/a.html",
            "https://[::1",
            "gopher://space-news.example/1",
            "https://space-news.example/b.html",
        ],
        "paths": [f"file://{tmp_path}/local.html"],
    }
    assert "secret" not in repr(params)
    assert read_url_list(listing.as_uri()) == params  # the list itself named by a file: URI
    assert read_url_list("https://user:secret@space-news.example/list.txt") == {
        "url_lists": ["https://space-news.example/list.txt"]
    }


def test_read_url_list_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "urls.txt"
    os.mkfifo(fifo)
    outcome: list = []

    def read():
        try:
            outcome.append(read_url_list(str(fifo)))
        except SourcesError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock the old code's open() before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail("reading a FIFO as a URL list blocked")
    assert isinstance(outcome[0], SourcesError) and "FIFO" in str(outcome[0])
