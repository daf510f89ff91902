"""Pure extraction: bytes in, `Article` or `Reject` out. No network, database or environment."""

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
