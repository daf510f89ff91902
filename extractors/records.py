"""Typed records that every extractor returns: an Article or a Reject, never an exception."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

# Bump when extraction output can change for the same input, so stored rows are re-extracted.
EXTRACTOR_VERSION = "3"  # 3: embedded media and cited links


@dataclass(frozen=True)
class Reject:
    """Why a document could not become an article; `reason` is a short stable code."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class MediaItem:
    """One embedded or linked media item: `platform:media_id` is the same whatever URL form carried it."""

    platform: str
    media_id: str
    url: str
    kind: str  # embed (a player on the page), og (the page's metadata), link (a link in the main text)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.media_id}"


@dataclass(frozen=True)
class CitedLink:
    """A link in the article's main text, normalized like article URLs."""

    url: str
    host: str
    anchor: str | None


@dataclass(frozen=True)
class Article:
    """One clean article, ready to load."""

    source_uri: str
    text: str
    word_count: int
    content_hash: str
    raw_sha256: str
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    url: str | None = None
    published_at: datetime | None = None  # naive UTC
    published_utc_offset: int | None = None  # the page's UTC offset in minutes, where it gave one
    description: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    language: str | None = None
    language_probability: float | None = None
    replaced_bytes: int = 0  # undecodable bytes read as U+FFFD (mostly-UTF-8 text with a few bad bytes)
    extractor_version: str = EXTRACTOR_VERSION
    media: tuple[MediaItem, ...] = field(default_factory=tuple)  # article_media rows (not articles columns)
    links: tuple[CitedLink, ...] = field(default_factory=tuple)  # article_links rows

    @property
    def article_id(self) -> str:
        return article_id_for(self.source_uri)


def article_id_for(source_uri: str) -> str:
    """Stable id of a document: the same source keeps its id across re-ingests and edits."""
    return hashlib.sha256(source_uri.encode("utf-8")).hexdigest()[:16]


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
