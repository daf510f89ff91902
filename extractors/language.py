"""Language of clean text with langdetect, seeded so the same text always gets the same answer."""

from __future__ import annotations

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0

SAMPLE_CHARS = 5000
MIN_PROBABILITY = 0.70
MIN_LETTERS = 20


def detect_language(text: str, min_probability: float = MIN_PROBABILITY) -> tuple[str | None, float | None]:
    """ISO 639-1 code and its probability, or (None, probability) when langdetect cannot decide."""
    sample = text[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return None, None
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return None, None
    probability = round(best.prob, 4)
    if best.prob < min_probability:
        return None, probability
    return best.lang.split("-")[0], probability
