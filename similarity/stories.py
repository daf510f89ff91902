"""Terms of an article's title and lead, for grouping articles about the same event into stories (pure)."""

from __future__ import annotations

import re
from collections import Counter

from extractors.normalize import normalize_text

_STOPWORDS = frozenset(
    """a an and are as at be been but by for from had has have he her his in into is it its of on or our
    she that the their them they this to was were which while who will with would you your not no than then
    there these those what when where how all any can could may might more most over said says also after
    before about up out new one two first last year years week day days""".split()
)
_TERM = re.compile(r"[^\W\d_][\w'-]{2,}")


def story_terms(title: str | None, text: str, lead_words: int) -> Counter:
    """Terms of the title (counted twice) and the lead, stop words removed."""
    lead = " ".join(text.split()[:lead_words])
    terms = [t for t in _TERM.findall(normalize_text(f"{title or ''} {title or ''} {lead}")) if t not in _STOPWORDS]
    return Counter(terms)
