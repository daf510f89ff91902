"""MinHash signatures and LSH band keys over shingles of normalized text (pure, numpy-vectorized).

Word shingles for scripts written with spaces; character shingles for scripts without them (Chinese,
Japanese, Thai, ...). Token hashes are stable across processes (blake2b), so signatures stored in the
warehouse stay comparable with those computed later.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EMPTY_MINIMUM = np.uint64(2**32 - 1)  # signature value of a text without shingles
MAX_TOKEN_CACHE = 1_000_000  # token hashes kept between calls (bounded: cleared when full)
_WORD = re.compile(r"\w+")
_NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_BLOCK = 1 << 16  # shingles hashed per permutation at a time (bounds memory for huge batches)
_token_hashes: dict[str, int] = {}


@dataclass(frozen=True)
class MinHashParams:
    """Signature shape; the defaults were chosen with bench/dedup (see the README)."""

    shingle_words: int = 4
    shingle_chars: int = 5
    permutations: int = 128
    bands: int = 64  # 64 bands of 2 rows: a pair at Jaccard 0.3 is a candidate with probability 0.998
    seed: int = 1

    def __post_init__(self) -> None:
        if self.shingle_words < 1 or self.shingle_chars < 1:
            raise ValueError("shingle sizes must be at least 1")
        if self.permutations < 1 or self.bands < 1 or self.permutations % self.bands:
            raise ValueError(f"permutations ({self.permutations}) must be a positive multiple of bands ({self.bands})")

    @property
    def rows(self) -> int:
        return self.permutations // self.bands


def _token_hashes_of(tokens: list[str]) -> np.ndarray:
    """Stable 64-bit hashes (blake2b) of the tokens, memoized across calls."""
    try:
        return np.fromiter(map(_token_hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    except KeyError:
        missing = set(tokens).difference(_token_hashes)
        if len(_token_hashes) + len(missing) > MAX_TOKEN_CACHE:
            _token_hashes.clear()
            missing = set(tokens)
        for token in missing:
            digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            _token_hashes[token] = int.from_bytes(digest, "little")
        return np.fromiter(map(_token_hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


@lru_cache(maxsize=16)
def _permutations(permutations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiply-add-shift hash functions (a*x + b) >> 32 of 32-bit keys: a odd, a and b 64-bit."""
    rng = np.random.RandomState(seed)
    a = rng.randint(1, 2**63, size=permutations, dtype=np.uint64) | np.uint64(1)
    b = rng.randint(0, 2**63, size=permutations, dtype=np.uint64)
    return a, b


@lru_cache(maxsize=16)
def _multipliers(count: int, seed: int) -> np.ndarray:
    return np.random.RandomState(seed + 7919).randint(1, 2**62, size=count, dtype=np.uint64) | np.uint64(1)


def tokens_for_shingling(text: str) -> tuple[list[str], int]:
    """Normalized tokens and the shingle size to use: words, or characters for scripts without spaces.

    Same tokens as splitting normalize_text() into words: quotes and whitespace are not word characters."""
    folded = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    words = _WORD.findall(folded)
    if folded.isascii() or not _NO_SPACE_SCRIPTS.search(folded):
        return words, 1
    letters = "".join(words)
    if letters and len(_NO_SPACE_SCRIPTS.findall(letters)) > 0.3 * len(letters):
        return list(letters), 0
    return words, 1


def shingle_hashes(text: str, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """Sorted unique 64-bit hashes of the text's shingles (empty for an empty text)."""
    tokens, by_words = tokens_for_shingling(text)
    size = params.shingle_words if by_words else params.shingle_chars
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    hashes = _token_hashes_of(tokens)
    size = min(size, len(hashes))
    count = len(hashes) - size + 1
    multipliers = _multipliers(size, params.seed)
    with np.errstate(over="ignore"):
        combined = hashes[:count] * multipliers[0]
        for offset in range(1, size):
            combined = combined + hashes[offset : offset + count] * multipliers[offset]
        combined ^= combined >> np.uint64(29)
    combined.sort()
    return combined[np.concatenate(([True], combined[1:] != combined[:-1]))]  # 8x faster than np.unique here


def minhash_signatures(shingle_sets: list[np.ndarray], params: MinHashParams = MinHashParams()) -> np.ndarray:
    """One row per set: per permutation, the minimum hash of the set's shingles (EMPTY_MINIMUM for no shingles).

    Vectorized over the batch: each permutation hashes a block of sets' shingles at once, then a segmented minimum."""
    a, b = _permutations(params.permutations, params.seed)
    signatures = np.full((len(shingle_sets), params.permutations), EMPTY_MINIMUM, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for block in _blocks([i for i, shingles in enumerate(shingle_sets) if len(shingles)], shingle_sets):
            keys = np.concatenate([shingle_sets[i] for i in block]) >> np.uint64(32)
            starts = np.cumsum([0] + [len(shingle_sets[i]) for i in block[:-1]])
            for p in range(params.permutations):
                signatures[block, p] = np.minimum.reduceat((keys * a[p] + b[p]) >> np.uint64(32), starts)
    return signatures


def _blocks(indexes: list[int], shingle_sets: list[np.ndarray]) -> list[list[int]]:
    """Consecutive runs of set indexes holding about _BLOCK shingles each (a larger set is a block alone)."""
    blocks, current, size = [], [], 0
    for i in indexes:
        if current and size + len(shingle_sets[i]) > _BLOCK:
            blocks.append(current)
            current, size = [], 0
        current.append(i)
        size += len(shingle_sets[i])
    return blocks + [current] if current else blocks


def band_keys(signatures: np.ndarray, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """One 64-bit key per set and band (shape sets x bands): sets sharing a key in any band are candidates."""
    rows = signatures.reshape(len(signatures), params.bands, params.rows)
    with np.errstate(over="ignore"):
        keys = (rows * _multipliers(params.rows, params.seed + 1)).sum(axis=2, dtype=np.uint64)
        keys ^= keys >> np.uint64(31)
    return keys


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Exact Jaccard and containment (shared / size of the smaller set) of two shingle sets."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared), shared / min(len(a), len(b))
