"""Pure extraction: bytes in, `Article` or `Reject` out. No network, database or environment.

The names below are imported on first use (PEP 562), so a command that needs only a light module of this
package (`extractors.display` for `mediamon sql`'s tables) does not import trafilatura, langdetect and numpy."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors.document import ExtractOptions, document_kind, extract_document
    from extractors.records import EXTRACTOR_VERSION, Article, Reject, article_id_for

__all__ = [
    "EXTRACTOR_VERSION",
    "Article",
    "ExtractOptions",
    "Reject",
    "article_id_for",
    "document_kind",
    "extract_document",
]


def __getattr__(name: str) -> object:
    if name in ("ExtractOptions", "document_kind", "extract_document"):
        from extractors import document as module
    elif name in ("EXTRACTOR_VERSION", "Article", "Reject", "article_id_for"):
        from extractors import records as module
    else:
        raise AttributeError(f"module 'extractors' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value
