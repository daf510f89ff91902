"""Language of clean text with langdetect's profiles and algorithm, seeded so the same text always gets the same
answer."""

from __future__ import annotations

import json
import os
import re
import threading
from array import array

import numpy as np
from langdetect import DetectorFactory
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException
from langdetect.language import Language
from langdetect.utils.ngram import NGram

from config.defaults import MIN_PROBABILITY  # noqa: F401 (re-exported)

DetectorFactory.seed = 0
# The profiles are loaded on first use, once: a thread detecting while another was still loading them got
# nonsense ("af" for English), so loading is serialized.
_PROFILES_LOCK = threading.Lock()
_factory: CompactProfiles | None = None

# langdetect's time grows with the sample. Over 1,959 texts (the 181 benchmark bodies, 20 not in English, the
# seeds, 1,500 bench articles and all 556 non-English ones) 2,000 characters gave the same language as 5,000
# for every text (1,500 did too), in half the time.
SAMPLE_CHARS = 2000
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
    detector = FastDetector(language_profiles())
    detector.append(sample)
    try:
        best = detector.get_probabilities()[0]
    except LangDetectException:
        return None, None
    probability = round(best.prob, 4)
    if best.prob < min_probability:
        return None, probability
    return best.lang.split("-")[0], probability


def language_profiles() -> CompactProfiles:
    """langdetect's profiles, loaded once per process."""
    global _factory
    with _PROFILES_LOCK:
        if _factory is None:
            _factory = CompactProfiles(PROFILES_DIRECTORY)
    return _factory


class CompactProfiles(DetectorFactory):
    """langdetect's profiles in 22 MB of a process instead of 61 MB: its `DetectorFactory` keeps, for each of
    87,598 n-grams, a list of 55 floats, and all but 2 of them are zero on average. Here `word_lang_prob_map` maps
    an n-gram to its row, and the rows' non-zero probabilities are kept as arrays (compressed sparse rows); the
    same files read in the same order give the same languages' order and the same probabilities
    (`row_probabilities`). Each extraction process loads its own copy, so this is paid once per worker
    (bench/archive)."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        rows: dict[str, int] = {}
        row_of, lang_of, values = array("q"), array("q"), array("d")
        names = os.listdir(directory)  # langdetect's order, and its list length even with a stray file
        self.langsize = len(names)
        for name in names:
            path = os.path.join(directory, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8") as f:
                profile = json.load(f)
            if profile["name"] in self.langlist:
                raise ValueError(f"duplicate language profile {profile['name']!r} in {directory}")
            index = len(self.langlist)
            self.langlist.append(profile["name"])
            n_words = profile["n_words"]
            for word, count in profile["freq"].items():
                row = rows.setdefault(word, len(rows))
                if 1 <= len(word) <= 3:
                    row_of.append(row)
                    lang_of.append(index)
                    values.append(1.0 * count / n_words[len(word) - 1])  # langdetect's arithmetic
        order = np.argsort(np.frombuffer(row_of, dtype=np.int64), kind="stable")
        self.word_lang_prob_map = rows  # n-gram -> row: what Detector tests membership on
        self._langs = np.frombuffer(lang_of, dtype=np.int64)[order].astype(np.int16)
        self._values = np.frombuffer(values, dtype=np.float64)[order].copy()
        counts = np.bincount(np.frombuffer(row_of, dtype=np.int64), minlength=len(rows))
        self._starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    def row_probabilities(self, word: str) -> np.ndarray:
        """The n-gram's probability in each language, as langdetect's list for it."""
        row = self.word_lang_prob_map[word]
        start, end = self._starts[row], self._starts[row + 1]
        probabilities = np.zeros(self.langsize)
        probabilities[self._langs[start:end]] = self._values[start:end]
        return probabilities


class _NormalizedChars(dict):
    """str.translate table of langdetect's per-character normalization, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        self[code] = NGram.normalize(chr(code))
        return self[code]


_NORMALIZED = _NormalizedChars()
_SPACE_RUNS = re.compile(" {2,}")
_LATIN = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z'
_NON_LATIN = re.compile("[\u0300-\U0010ffff]")  # its block test never excludes anything (it compares an int to a str)
MAX_CACHED_WORDS = 100_000  # n-grams of a word are kept between texts (bounded: cleared when full)
_word_ngrams: dict[tuple[str, bool], tuple[str, ...]] = {}
_word_probabilities: dict[str, np.ndarray] = {}  # at most one per profile n-gram (87,598 in langdetect 1.0.9)


def word_ngrams(word: str, space_after: bool, known: dict) -> tuple[str, ...]:
    """The profile n-grams langdetect's character loop emits for a word (no spaces in it) that follows a space,
    in its order: per character its 1-, 2- and 3-gram, none where it and the one before are capitals; then, when
    a space follows, the 2- and 3-gram ending in that space."""
    padded = " " + word + (" " if space_after else "")
    ngrams = []
    for end in range(1, len(padded)):
        if end == len(word) + 1:  # the space after the word
            candidates = (padded[end - 1 : end + 1], padded[max(0, end - 2) : end + 1])
        elif end > 1 and padded[end].isupper() and padded[end - 1].isupper():
            continue
        else:
            candidates = (padded[end], padded[end - 1 : end + 1]) + ((padded[end - 2 : end + 1],) if end > 1 else ())
        ngrams += [gram for gram in candidates if gram in known]
    return tuple(ngrams)


class FastDetector(Detector):
    """langdetect 1.0.9's Detector with its per-character loop replaced by n-grams cached per word and its
    per-language loops done by numpy: the same probabilities for the same text (tests/test_language.py compares
    them with langdetect's own on many texts), in a fraction of the time. Language detection was the largest part
    of extracting a page. It reads `CompactProfiles`."""

    def __init__(self, profiles: CompactProfiles) -> None:
        super().__init__(profiles)
        self.profiles = profiles

    def append(self, text: str) -> None:
        text = NGram.normalize_vi(self.MAIL_RE.sub(" ", self.URL_RE.sub(" ", text)))
        self.text += _SPACE_RUNS.sub(" ", text[: self.max_text_length])

    def cleaning_text(self) -> None:
        if 2 * len(_LATIN.findall(self.text)) < len(_NON_LATIN.findall(self.text)):
            self.text = _LATIN.sub("", self.text)

    def _extract_ngrams(self) -> list[str]:
        """The n-grams of the text in langdetect's order. Its loop restarts at every space (the 1-gram buffer is
        reset), so the text is the concatenation of its words' n-grams."""
        if len(_word_ngrams) > MAX_CACHED_WORDS:
            _word_ngrams.clear()
        known = self.word_lang_prob_map
        pieces = self.text.translate(_NORMALIZED).split(" ")
        ngrams: list[str] = []
        for index, piece in enumerate(pieces):
            if piece:
                key = (piece, index < len(pieces) - 1)
                cached = _word_ngrams.get(key)
                if cached is None:
                    cached = _word_ngrams[key] = word_ngrams(piece, key[1], known)
                ngrams += cached
        return ngrams

    def _init_probability(self) -> np.ndarray:
        return np.array(super()._init_probability())

    def _update_lang_prob(self, prob: np.ndarray, word: str, alpha: float) -> bool:
        if word is None or word not in self.word_lang_prob_map:
            return False
        weights = _word_probabilities.get(word)
        if weights is None:
            weights = _word_probabilities[word] = self.profiles.row_probabilities(word)
        prob *= alpha / self.BASE_FREQ + weights
        return True

    def _normalize_prob(self, prob: np.ndarray) -> float:
        prob /= sum(prob.tolist())  # Python's sum, as langdetect's (numpy's adds in another order)
        return max(0.0, float(prob.max()))

    def get_probabilities(self) -> list:
        return [Language(found.lang, float(found.prob)) for found in super().get_probabilities()]
