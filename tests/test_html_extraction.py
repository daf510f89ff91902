"""HTML extraction on hand-written fixture pages: text, metadata, charset and language."""

from __future__ import annotations

import gzip
from datetime import datetime

import pytest

from extractors import Article, Reject, extract_document
from tests.conftest import FIXTURES_DIR

HTML_DIR = FIXTURES_DIR / "html"
RUSSIAN_TITLE = "Роскосмос показал видео отстыковки российского сегмента МКС"
RUSSIAN_FIRST = "Телестудия Роскосмоса опубликовала ролик, в котором космонавты прощаются с коллегами"
RUSSIAN_LAST = "поэтому настоящее отделение потребовало бы многих лет подготовки."


def extract_fixture(name: str, raw: bytes | None = None) -> Article | Reject:
    path = HTML_DIR / name
    return extract_document(path.read_bytes() if raw is None else raw, path.as_uri(), "html")


def test_extract_html_drops_comments_and_navigation():
    article = extract_fixture("comments_page.html")
    assert isinstance(article, Article)
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("The Roscosmos television studio has published a short film")
    assert paragraphs[-1] == (
        "NASA said it continues to work with all of its international partners to keep the station operating safely."
    )
    assert '"The Roscosmos television studio jokingly demonstrated the possibility of such a scenario,"' in article.text
    for unwanted in (
        "spacefan42",
        "funniest thing",
        "American arrays that segment",
        "Leave a Reply",
        "Subscribe",
        "All rights reserved",
        "Privacy",
    ):
        assert unwanted not in article.text


def test_extract_html_metadata():
    article = extract_fixture("comments_page.html")
    assert article.title == "Cosmonauts wave goodbye in Roscosmos video"
    assert article.author == "Dana Whitfield"
    assert article.site_name == "Orbit Watch"
    assert article.url == "https://orbitwatch.example/news/2022/03/roscosmos-video-goodbye"
    assert article.published_at == datetime(2022, 3, 6, 9, 30)
    assert article.description.startswith("A Roscosmos television studio clip")
    assert set(article.tags) >= {"ISS", "Roscosmos"}
    assert article.language == "en"


@pytest.mark.parametrize("name", ["russian_windows1251.html", "russian_undeclared_cp1251.html"])
def test_extract_html_windows1251_russian(name):
    article = extract_fixture(name)
    assert isinstance(article, Article), article
    assert article.title == RUSSIAN_TITLE
    assert article.text.startswith(RUSSIAN_FIRST)
    assert article.text.endswith(RUSSIAN_LAST)
    assert article.language == "ru"
    assert article.site_name == "Космические новости"


def test_extract_html_gzipped_equals_plain():
    plain = extract_fixture("russian_windows1251.html")
    raw = (HTML_DIR / "russian_windows1251.html").read_bytes()
    zipped = extract_fixture("russian_windows1251.html", gzip.compress(raw))
    assert zipped.text == plain.text and zipped.content_hash == plain.content_hash


def test_extract_html_declared_charset_wins_over_meta():
    raw = (HTML_DIR / "russian_windows1251.html").read_bytes()
    utf8 = raw.decode("cp1251").encode("utf-8")  # meta still says windows-1251
    article = extract_document(utf8, "https://example.test/a", "html", declared_charset="utf-8")
    assert article.title == RUSSIAN_TITLE


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"<html><head><title>Nothing here</title></head></html>", "no_text"),
        (b"<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>", "no_text"),
    ],
)
def test_extract_html_without_body_is_reject(raw, reason):
    result = extract_document(raw, "file:///empty.html", "html")
    assert isinstance(result, Reject) and result.reason == reason
