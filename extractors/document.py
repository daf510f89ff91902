"""One entry point from raw bytes to an Article or a Reject, for files and fetched pages alike."""

from __future__ import annotations

from dataclasses import dataclass

from config.defaults import DEFAULT_MAX_BYTES  # noqa: F401 (re-exported)
from extractors.decode import GZIP_MAGIC, decode_bytes, describe_binary, gunzip_capped
from extractors.fields import ExtractedFields
from extractors.html import extract_html_fields
from extractors.language import MIN_PROBABILITY, detect_language
from extractors.normalize import content_hash, count_words, tidy_paragraphs, to_nfc
from extractors.records import Article, Reject, sha256_hex
from extractors.text import extract_text_fields

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = tuple(s + gz for s in TEXT_SUFFIXES + HTML_SUFFIXES for gz in ("", ".gz"))
WARC_SUFFIXES = (".warc", ".warc.gz")  # web archives: their HTML responses are read as fetched pages
INGESTED_SUFFIXES = SUPPORTED_SUFFIXES + WARC_SUFFIXES  # what a folder is searched for


@dataclass(frozen=True)
class ExtractOptions:
    max_bytes: int = DEFAULT_MAX_BYTES
    language_min_probability: float = MIN_PROBABILITY

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if not 0.0 <= self.language_min_probability <= 1.0:
            raise ValueError("language_min_probability must be between 0 and 1")


def document_kind(name: str) -> str | None:
    """'text' or 'html' from a file or URL path's suffix (a trailing .gz is looked through)."""
    lowered = name.lower().removesuffix(".gz")
    if lowered.endswith(TEXT_SUFFIXES):
        return "text"
    if lowered.endswith(HTML_SUFFIXES):
        return "html"
    return None


def extract_document(
    raw: bytes,
    source_uri: str,
    kind: str,
    *,
    url: str | None = None,
    declared_charset: str | None = None,
    options: ExtractOptions = ExtractOptions(),
) -> Article | Reject:
    """Bytes of a text or HTML document (gzipped or not) to a clean Article, or why not."""
    if not raw:
        return Reject("empty", "0 bytes")
    if len(raw) > options.max_bytes:
        return Reject("too_large", f"over the {options.max_bytes}-byte limit")
    raw_sha256 = sha256_hex(raw)
    if raw.startswith(GZIP_MAGIC):
        raw = gunzip_capped(raw, options.max_bytes)
        if isinstance(raw, Reject):
            return raw
    binary = describe_binary(raw)
    if binary:
        return Reject("binary", binary)
    decoded = decode_bytes(raw, declared=declared_charset, html=kind == "html")
    if isinstance(decoded, Reject):
        return decoded
    if not decoded.text.strip():
        return Reject("empty", "only whitespace" if decoded.text else "only a byte-order mark")
    source = decoded.text.replace("\x00", "")
    fields = extract_html_fields(source, url) if kind == "html" else extract_text_fields(source)
    if isinstance(fields, Reject):
        return fields
    return _finish(fields, source_uri, raw_sha256, decoded.replaced_bytes, options)


def _finish(
    fields: ExtractedFields, source_uri: str, raw_sha256: str, replaced_bytes: int, options: ExtractOptions
) -> Article | Reject:
    text = to_nfc(tidy_paragraphs(fields.paragraphs))
    word_count = count_words(text)
    if not word_count:  # only emoji, symbols or punctuation
        return Reject("no_text", f"no words in {len(text)} characters of text")
    language, probability = detect_language(text, options.language_min_probability)
    return Article(
        source_uri=source_uri,
        text=text,
        word_count=word_count,
        content_hash=content_hash(text),
        raw_sha256=raw_sha256,
        title=to_nfc(fields.title),
        author=to_nfc(fields.author),
        site_name=to_nfc(fields.site_name),
        url=fields.url,
        published_at=fields.published_at,
        published_utc_offset=fields.published_utc_offset,
        description=to_nfc(fields.description),
        tags=tuple(to_nfc(tag) for tag in fields.tags),
        language=language,
        language_probability=probability,
        replaced_bytes=replaced_bytes,
        media=fields.media,
        links=fields.links,
    )
