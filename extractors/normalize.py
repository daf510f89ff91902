"""Text normalization shared by hashing, counting and (later) near-duplicate detection."""

from __future__ import annotations

import hashlib
import re
import unicodedata

QUOTE_FOLDS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "`": "'",
    "\u00b4": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2033": '"',
}
_WORD = re.compile(r"\w+(?:['\u2019.-]\w+)*")


def normalize_text(text: str) -> str:
    """Fold Unicode forms, case, quote styles and whitespace so cosmetic edits hash alike."""
    folded = unicodedata.normalize("NFKC", text)
    for quote, plain in QUOTE_FOLDS.items():  # far faster than str.translate, which maps every character
        if quote in folded:
            folded = folded.replace(quote, plain)
    return " ".join(folded.casefold().split())  # str.split's whitespace is exactly re's \s


def to_nfc(value: str | None) -> str | None:
    """Unicode NFC (composed accents), the form stored: equal-looking text compares and searches equal."""
    if value is None or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def content_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def tidy_paragraphs(paragraphs: list[str]) -> str:
    """Join paragraphs with one blank line, collapsing inner runs of spaces."""
    cleaned = (re.sub(r"[ \t\u00a0]+", " ", p).strip() for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)
