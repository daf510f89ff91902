"""Near-duplicate verification and the choice of canonical copies (pure): the thresholds, the exact check of LSH
candidates, and the canonical order that makes the result independent of the order articles arrived in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from similarity.minhash import MinHashParams, similarity

HASHING_VERSION = 2  # bump when shingling or hashing changes: stored signatures are recomputed
VERIFY_BATCH = 2000  # candidates whose missing shingle sets are computed at once


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds for the three levels; defaults chosen with bench/dedup (see the README)."""

    minhash: MinHashParams = field(default_factory=MinHashParams)
    jaccard_threshold: float = 0.3  # closest hard negative in bench/dedup: 0.236
    containment_threshold: float = 0.6  # the shorter text mostly inside the longer (a cut pickup); closest: 0.481
    estimate_slack: float = 0.2  # LSH candidates whose MinHash estimates fall this far below both thresholds
    #                              are dropped unverified (5 standard errors for Jaccard at 0.3, 2.7 for containment)
    min_shingles: int = 20  # shorter texts (under about 23 words: stubs, notices) are never grouped by their text
    window_days: int | None = 30  # copies published further apart are not linked (None: no window)
    story_threshold: float = 0.15  # TF-IDF cosine of title + lead (seeds: video articles 0.16-0.24, 002 at most 0.134)
    story_window_days: int = 3
    lead_words: int = 300

    def fingerprint(self) -> str:
        """What stored signatures and pairs depend on: shingling, hashing and verification settings."""
        return f"{HASHING_VERSION} {self.minhash} {self.jaccard_threshold} {self.containment_threshold} " + (
            f"{self.estimate_slack} {self.min_shingles} {self.window_days}"
        )

    def __post_init__(self) -> None:
        for name in ("jaccard_threshold", "containment_threshold", "story_threshold"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class OrderKey:
    """Canonical order: earliest publication date, else first seen (first ingested, else fetched); at the same
    time the longest, then the smallest id. A later undated copy never goes before the original by being longer,
    and an article's place never changes once stored, so a later run changes an earlier article's duplicate_of
    only when an article that goes before it arrives (an earlier publication date)."""

    published_at: datetime | None
    word_count: int
    article_id: str
    first_seen: datetime | None = None

    def sort_key(self) -> tuple:
        when = self.published_at or self.first_seen
        return (when is None, when or datetime.min, -self.word_count, self.article_id)


def verify_candidates(
    candidates: list[tuple[str, str, str]],
    settings: DedupSettings,
    known: dict[str, np.ndarray],
    shingles: Callable[[list[str]], dict[str, np.ndarray]],
    batch: int = VERIFY_BATCH,
) -> list[tuple[str, str, str, float, float]]:
    """Keep candidates whose exact shingle similarity clears a threshold, equal texts of at least min_shingles
    shingles (a stub or notice is never grouped by its text) and equal URLs.

    Shingle sets not in `known` are asked of `shingles` (article ids in, id -> shingle set out) for `batch`
    candidates at a time, so memory stays bounded."""
    verified = []
    for start in range(0, len(candidates), batch):
        pairs = candidates[start : start + batch]
        loaded = shingles(sorted({i for a, b, _ in pairs for i in (a, b)}.difference(known)))
        for a, b, kind in pairs:
            first, second = known.get(a, loaded.get(a)), known.get(b, loaded.get(b))
            jaccard, containment = similarity(first, second)
            enough = min(len(first), len(second)) >= settings.min_shingles
            similar = jaccard >= settings.jaccard_threshold or containment >= settings.containment_threshold
            if kind == "exact_url" or (enough and (kind == "exact_text" or similar)):
                verified.append((a, b, kind, round(jaccard, 4), round(containment, 4)))
    return verified


def choose_canonicals(order: dict[str, OrderKey], pairs: list[tuple[str, str, float]]) -> dict[str, str]:
    """copy -> canonical: in canonical order, an article joins the most similar earlier canonical it is
    paired with, or becomes canonical itself. A copy of a copy never joins through it (no chaining)."""
    neighbours: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for a, b, score in pairs:
        neighbours[a].append((score, b))
        neighbours[b].append((score, a))
    rank = {article_id: key.sort_key() for article_id, key in order.items()}
    assigned: dict[str, str] = {}
    for article_id in sorted(neighbours, key=rank.__getitem__):
        earlier = [
            (score, other)
            for score, other in neighbours[article_id]
            if rank[other] < rank[article_id] and other not in assigned
        ]
        if earlier:
            best_score = max(score for score, _ in earlier)
            assigned[article_id] = min((o for s, o in earlier if s == best_score), key=rank.__getitem__)
    return assigned
