"""What a format-specific extractor hands back before the shared finishing steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from extractors.records import CitedLink, MediaItem


@dataclass(frozen=True)
class ExtractedFields:
    paragraphs: list[str]
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    url: str | None = None
    published_at: datetime | None = None  # naive UTC
    published_utc_offset: int | None = None  # minutes east of UTC, where the page gave a zone
    description: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    media: tuple[MediaItem, ...] = field(default_factory=tuple)
    links: tuple[CitedLink, ...] = field(default_factory=tuple)
