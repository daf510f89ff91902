"""Plain-text articles: a headline-like first line becomes the title, furniture is stripped."""

from __future__ import annotations

import re

from extractors.fields import ExtractedFields
from extractors.furniture import is_widget_line, strip_furniture
from extractors.media import merge_media, text_links
from extractors.records import Reject

MAX_TITLE_CHARS = 160
MAX_TITLE_WORDS = 25
_BLANK_LINES = re.compile(r"\n[ \t\u00a0]*\n")


def looks_like_headline(line: str) -> bool:
    """Short, and not closed like a sentence (a headline may end in '?', '!' or a bracket tag)."""
    line = line.strip()
    return (
        0 < len(line) <= MAX_TITLE_CHARS
        and len(line.split()) <= MAX_TITLE_WORDS
        and not line.endswith((".", ",", ";", ":", "\u2026"))
        and not is_widget_line(line)
    )


def split_blocks(text: str) -> list[list[str]]:
    """Blocks separated by blank lines, each a list of its non-empty lines."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = ([ln.strip() for ln in chunk.split("\n")] for chunk in _BLANK_LINES.split(normalized))
    return [lines for lines in ([ln for ln in block if ln] for block in blocks) if lines]


def extract_text_fields(text: str) -> ExtractedFields | Reject:
    blocks = split_blocks(text)
    title = None
    if blocks and looks_like_headline(blocks[0][0]) and (len(blocks[0]) > 1 or len(blocks) > 1):
        title = blocks[0][0]
        blocks = [blocks[0][1:], *blocks[1:]] if len(blocks[0]) > 1 else blocks[1:]
    paragraphs = strip_furniture(blocks)
    if not paragraphs:
        return Reject("no_text", "only a title or site furniture")
    links, media = text_links("\n".join(line for block in blocks for line in block))
    return ExtractedFields(paragraphs=paragraphs, title=title, media=merge_media(media), links=tuple(links))
