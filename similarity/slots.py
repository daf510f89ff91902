"""Distinguishing tokens in shared context (pure): what tells a templated sibling from a copy.

Daily reports on one template (a market close, a sports result) share most of their wording, so word overlap
alone calls them copies. What differs is in the slots: the figures, names and dates. A token is
*distinguishing* when it holds a digit or is capitalised away from the start of a sentence or line. Each one is
recorded with its context: the two tokens before it and the two after it (folded). Comparing a shorter text
with a longer one, a distinguishing token of the shorter is *aligned* when one of its contexts occurs around a
distinguishing token of the longer, and *kept* when the same token occurs there too. A copy keeps nearly every
aligned token (a corrected figure loses one); a templated sibling puts other figures and names in the same
places. Lines the other text lacks (an outlet's header and footer, an update line) have no aligned tokens, so
a truncated pickup with its outlet's furniture is not penalised.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from similarity.minhash import MinHashParams, _multipliers, _token_hashes_of, shingle_hashes

CONTEXT = 2  # tokens on each side of a distinguishing token
_SEPARATED_TOKEN = re.compile(r"(\W*)(\w+)")
_DIGIT = re.compile(r"\d")
_BREAK = re.compile(r"[.!?:;\n\u201c\"(\[]")  # what makes the next capitalised token a sentence or line start
_SIDES = (np.uint64(1), np.uint64(2))  # salts: a left context never equals a right one
_EMPTY = np.empty(0, dtype=np.uint64)
_DEFAULT_PARAMS = MinHashParams()


@dataclass(frozen=True)
class Slots:
    """One row per (distinguishing token, side): the token's index, the context hash, the context+token hash."""

    token: np.ndarray  # int32
    context: np.ndarray  # uint64
    filled: np.ndarray  # uint64

    @property
    def tokens(self) -> int:
        return len(np.unique(self.token))


@dataclass
class TextFeatures:
    """What verification needs of a text: its shingle set, and its slots, computed when first asked (only pairs
    over a similarity threshold need them)."""

    shingles: np.ndarray
    text: str
    outlet: str = ""  # the host the text was published on: two articles of one outlet share its furniture

    @cached_property
    def slots(self) -> Slots:
        return text_slots(self.text)


def text_slots(text: str) -> Slots:
    """The distinguishing tokens of a text, runs of them as one slot, with their left and right contexts."""
    pairs = _SEPARATED_TOKEN.findall(unicodedata.normalize("NFKC", text))  # (what precedes the token, the token)
    if not pairs:
        return Slots(np.empty(0, dtype=np.int32), _EMPTY, _EMPTY)
    hashes = _token_hashes_of([word.casefold() for _, word in pairs])
    picked = [
        index
        for index, (before, word) in enumerate(pairs)
        if (word[0].isupper() and index and not _BREAK.search(before)) or _DIGIT.search(word)
    ]
    if not picked:
        return Slots(np.empty(0, dtype=np.int32), _EMPTY, _EMPTY)
    picked_at = np.array(picked)
    new_run = np.concatenate(([True], np.diff(picked_at) > 1))
    run_of = np.cumsum(new_run) - 1  # consecutive distinguishing tokens form one slot ("Riverton Courier", "2 35")
    starts, ends = picked_at[new_run], picked_at[np.concatenate((new_run[1:], [True]))]
    position = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        offsets = (picked_at - starts[run_of]).astype(np.uint64)
        values = np.zeros(len(starts), dtype=np.uint64)
        np.add.at(values, run_of, (hashes[picked_at] * (offsets * position + np.uint64(1))) ^ offsets)
        multipliers = _multipliers(CONTEXT + 1, 17)
        count = len(pairs)
        tokens, contexts, filled = [], [], []
        for side, first in zip(_SIDES, (starts - CONTEXT, ends + 1), strict=True):
            valid = (first >= 0) & (first + CONTEXT <= count)
            runs = np.flatnonzero(valid)
            context = np.zeros(len(runs), dtype=np.uint64)
            for offset in range(CONTEXT):
                context += hashes[first[valid] + offset] * multipliers[offset]
            context ^= side
            tokens.append(runs.astype(np.int32))
            contexts.append(context)
            filled.append(context * multipliers[CONTEXT] + values[valid])
    return Slots(np.concatenate(tokens), np.concatenate(contexts), np.concatenate(filled))


def text_features(text: str, params: MinHashParams = _DEFAULT_PARAMS, outlet: str = "") -> TextFeatures:
    return TextFeatures(shingle_hashes(text, params), text, outlet)


def substituted_slots(shorter: Slots, longer: Slots) -> tuple[int, int]:
    """(aligned, substituted): distinguishing tokens of `shorter` whose context occurs in `longer`, and those
    of them whose token does not occur in any such context there."""
    if not len(shorter.token):
        return 0, 0
    aligned_rows = np.isin(shorter.context, longer.context)
    kept_rows = np.isin(shorter.filled, longer.filled)
    aligned = np.unique(shorter.token[aligned_rows])
    kept = np.unique(shorter.token[kept_rows])
    return len(aligned), len(np.setdiff1d(aligned, kept, assume_unique=True))
