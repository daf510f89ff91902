"""HTML articles: trafilatura's main-text extraction with its metadata."""

from __future__ import annotations

from datetime import datetime

import trafilatura

from extractors.fields import ExtractedFields
from extractors.furniture import strip_furniture
from extractors.records import Reject

# Measured best on the article-extraction benchmark (see bench/extraction).
TRAFILATURA_OPTIONS = {"include_comments": False, "favor_precision": True}


def extract_html_fields(html: str, url: str | None = None) -> ExtractedFields | Reject:
    """Main text and metadata of a page; `url` is where it was fetched from, when known."""
    try:
        document = trafilatura.bare_extraction(html, url=url, with_metadata=True, **TRAFILATURA_OPTIONS)
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        return Reject("bad_html", f"{type(exc).__name__}: {exc}"[:300])
    if document is None or not (document.text or "").strip():
        return Reject("no_text", "no main text found in the page")
    paragraphs = strip_furniture([[line] for line in document.text.split("\n") if line.strip()])
    if not paragraphs:
        return Reject("no_text", "only site furniture in the page")
    tags = tuple(dict.fromkeys([*(document.categories or []), *(document.tags or [])]))
    return ExtractedFields(
        paragraphs=paragraphs,
        title=_clean(document.title),
        author=_clean(document.author),
        site_name=_clean(document.sitename),
        url=document.url if (document.url or "").startswith(("http://", "https://")) else None,
        published_at=_parse_date(document.date),
        description=_clean(document.description),
        tags=tags,
    )


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _parse_date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
