"""MinHash signatures and LSH band keys over shingles of normalized text (pure, numpy-vectorized).

Word shingles for scripts written with spaces; character shingles for scripts without them (Chinese,
Japanese, Thai, ...). Token hashes are stable across processes (blake2b), so signatures stored in the
warehouse stay comparable with those computed later.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from extractors.normalize import normalize_text

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)
_WORD = re.compile(r"\w+")
_NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_BLOCK = 2048  # shingles hashed against all permutations at a time (bounds memory for huge texts)


@dataclass(frozen=True)
class MinHashParams:
    """Signature shape; the defaults were chosen with bench/dedup (see the README)."""

    shingle_words: int = 5
    shingle_chars: int = 5
    permutations: int = 128
    bands: int = 32
    seed: int = 1

    def __post_init__(self) -> None:
        if self.shingle_words < 1 or self.shingle_chars < 1:
            raise ValueError("shingle sizes must be at least 1")
        if self.permutations < 1 or self.bands < 1 or self.permutations % self.bands:
            raise ValueError(f"permutations ({self.permutations}) must be a positive multiple of bands ({self.bands})")

    @property
    def rows(self) -> int:
        return self.permutations // self.bands


@lru_cache(maxsize=500_000)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


@lru_cache(maxsize=16)
def _permutations(permutations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    a = rng.randint(1, int(MERSENNE_PRIME), size=permutations, dtype=np.uint64)
    b = rng.randint(0, int(MERSENNE_PRIME), size=permutations, dtype=np.uint64)
    return a[:, None], b[:, None]


@lru_cache(maxsize=16)
def _multipliers(count: int, seed: int) -> np.ndarray:
    return np.random.RandomState(seed + 7919).randint(1, 2**62, size=count, dtype=np.uint64) | np.uint64(1)


def tokens_for_shingling(text: str) -> tuple[list[str], int]:
    """Normalized tokens and the shingle size to use: words, or characters for scripts without spaces."""
    normalized = normalize_text(text)
    words = _WORD.findall(normalized)
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
    hashes = np.fromiter((_token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    size = min(size, len(hashes))
    count = len(hashes) - size + 1
    multipliers = _multipliers(size, params.seed)
    with np.errstate(over="ignore"):
        combined = hashes[:count] * multipliers[0]
        for offset in range(1, size):
            combined = combined + hashes[offset : offset + count] * multipliers[offset]
        combined ^= combined >> np.uint64(29)
    return np.unique(combined)


def minhash_signature(shingles: np.ndarray, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """One minimum per permutation of (a*x + b) mod p over the shingles' 32-bit hashes."""
    a, b = _permutations(params.permutations, params.seed)
    signature = np.full(params.permutations, MAX_HASH, dtype=np.uint64)
    values = (shingles >> np.uint64(32)).astype(np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(values), _BLOCK):
            block = values[start : start + _BLOCK]
            hashed = ((a * block + b) % MERSENNE_PRIME) & MAX_HASH
            np.minimum(signature, hashed.min(axis=1), out=signature)
    return signature


def band_keys(signature: np.ndarray, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """One 64-bit key per band: articles sharing a key in any band are candidate pairs."""
    rows = signature.reshape(params.bands, params.rows)
    with np.errstate(over="ignore"):
        keys = (rows * _multipliers(params.rows, params.seed + 1)).sum(axis=1, dtype=np.uint64)
        keys ^= keys >> np.uint64(31)
    return keys


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Exact Jaccard and containment (shared / size of the smaller set) of two shingle sets."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared), shared / min(len(a), len(b))
