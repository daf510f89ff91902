"""HTML articles: trafilatura's main-text extraction with its metadata."""

from __future__ import annotations

from datetime import UTC, datetime

import trafilatura
from trafilatura.settings import set_date_params

from extractors.fields import ExtractedFields
from extractors.furniture import strip_furniture
from extractors.normalize import normalize_text
from extractors.records import Reject
from extractors.urls import normalize_url

# Measured best on the article-extraction benchmark (see bench/extraction).
TRAFILATURA_OPTIONS = {"include_comments": False, "favor_precision": True}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # keep the time of day and zone when the page gives them


def extract_html_fields(html: str, url: str | None = None) -> ExtractedFields | Reject:
    """Main text and metadata of a page; `url` is where it was fetched from, when known."""
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            date_extraction_params={**set_date_params(), "outputformat": _DATE_FORMAT},
            **TRAFILATURA_OPTIONS,
        )
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        return Reject("bad_html", f"{type(exc).__name__}: {exc}"[:300])
    if document is None or not (document.text or "").strip():
        return Reject("no_text", "no main text found in the page")
    paragraphs = strip_furniture([[line] for line in document.text.split("\n") if line.strip()])
    title = _clean(document.title)
    if paragraphs and title and normalize_text(paragraphs[0]) == normalize_text(title):
        paragraphs = paragraphs[1:]  # the headline is the title, not body text
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
