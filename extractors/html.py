"""HTML articles: trafilatura's main-text extraction with its metadata."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import trafilatura
from trafilatura.settings import set_date_params
from trafilatura.utils import load_html

from extractors.fields import ExtractedFields
from extractors.furniture import strip_furniture, strip_headlines
from extractors.records import Reject
from extractors.urls import normalize_url

# Measured best on the article-extraction benchmark (see bench/extraction).
TRAFILATURA_OPTIONS = {"include_comments": False, "favor_precision": True}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # keep the time of day and zone when the page gives them
STUB_WORDS = 50  # a precision-mode text this short is retried without favor_precision
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def extract_html_fields(html: str, url: str | None = None) -> ExtractedFields | Reject:
    """Main text and metadata of a page; `url` is where it was fetched from, when known."""
    options = {
        "url": url,
        "with_metadata": True,
        "date_extraction_params": {**set_date_params(), "outputformat": _DATE_FORMAT},
    }
    try:
        tree = load_html(html)
        if tree is None:
            return Reject("bad_html", "lxml could not parse the page")
        document = trafilatura.bare_extraction(tree, **options, **TRAFILATURA_OPTIONS)
        if document is not None and len((document.text or "").split()) < STUB_WORDS:
            retry = trafilatura.bare_extraction(tree, **options, include_comments=False)
            if retry is not None and len((retry.text or "").split()) >= 5 * len((document.text or "x").split()):
                document = retry  # precision mode kept only a stub (e.g. a reprint notice)
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        return Reject("bad_html", f"{type(exc).__name__}: {exc}"[:300])
    if document is None or not (document.text or "").strip():
        return Reject("no_text", "no main text found in the page")
    title = _clean(document.title)
    lines = strip_headlines([ln for ln in document.text.split("\n") if ln.strip()], page_headlines(html, title))
    paragraphs = strip_furniture([[line] for line in lines])
    if not paragraphs:
        return Reject("no_text", "only site furniture in the page")
    tags = tuple(dict.fromkeys([*(document.categories or []), *(document.tags or [])]))
    return ExtractedFields(
        paragraphs=paragraphs,
        title=title,
        author=_clean(document.author),
        site_name=_clean(document.sitename),
        url=normalize_url(document.url or ""),
        published_at=_parse_date(document.date),
        description=_clean(document.description),
        tags=tags,
    )


def page_headlines(html: str, title: str | None) -> list[str]:
    """The metadata title and the page's first <h1> texts: what a leading headline line may repeat."""
    heads = [" ".join(_TAG.sub(" ", h).split()) for h in _H1.findall(html[:300_000])[:3]]
    return [h for h in [title or "", *heads] if h]


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _parse_date(value: str | None) -> datetime | None:
    """A naive UTC timestamp (DuckDB TIMESTAMP) from htmldate's output."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
