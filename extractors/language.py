"""Language of clean text with langdetect, seeded so the same text always gets the same answer."""

from __future__ import annotations

import threading

from langdetect import DetectorFactory, detect_langs
from langdetect.detector_factory import init_factory
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0
# langdetect loads its profiles on first use without a lock: a thread detecting while another is still loading
# them gets nonsense ("af" for English). The first use is serialized; later ones only take the lock for a check.
_PROFILES_LOCK = threading.Lock()

# langdetect's time grows with the sample. Over 1,959 texts (the 181 benchmark bodies, 20 not in English, the
# seeds, 1,500 bench articles and all 556 non-English ones) 2,000 characters gave the same language as 5,000
# for every text (1,500 did too), in half the time.
SAMPLE_CHARS = 2000
MIN_PROBABILITY = 0.70
MIN_LETTERS = 20


def is_prose(paragraph: str) -> bool:
    """Not a table row (trafilatura renders cells as `| a | b |`) and mostly letters."""
    stripped = paragraph.strip()
    letters = sum(map(str.isalpha, stripped))
    return not stripped.startswith("|") and letters >= 0.6 * (len(stripped) - stripped.count(" "))


def prose_sample(text: str) -> str:
    """The first SAMPLE_CHARS of the text's prose paragraphs, or of the whole text if it has too little prose.

    Paragraphs past a full sample with enough letters are not looked at."""
    prose, size, letters = [], 0, 0
    for paragraph in text.split("\n\n"):
        if size >= SAMPLE_CHARS and letters >= 200:
            break
        if is_prose(paragraph):
            prose.append(paragraph)
            size += len(paragraph) + 2
            letters += sum(map(str.isalpha, paragraph))
    return ("\n\n".join(prose) if letters >= 200 else text)[:SAMPLE_CHARS]


def detect_language(text: str, min_probability: float = MIN_PROBABILITY) -> tuple[str | None, float | None]:
    """ISO 639-1 code and its probability, or (None, probability) when langdetect cannot decide."""
    sample = prose_sample(text)
    if sum(map(str.isalpha, sample)) < MIN_LETTERS:
        return None, None
    with _PROFILES_LOCK:
        init_factory()
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return None, None
    probability = round(best.prob, 4)
    if best.prob < min_probability:
        return None, probability
    return best.lang.split("-")[0], probability
