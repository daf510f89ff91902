"""Near-duplicate verification and the choice of canonical copies (pure): the thresholds, the exact check of LSH
candidates, and the canonical order that makes the result independent of the order articles arrived in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from similarity.minhash import MinHashParams, shingle_hashes, similarity
from similarity.slots import TextFeatures, substituted_slots

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
    slot_min_aligned: int = 10  # distinguishing tokens in shared context needed to judge a pair as templated
    slot_substitution: float = 0.5  # templated siblings: this share of them or more hold other figures and names
    #                                 (tune: templated >= 0.56, copies with >= 10 aligned <= 0.45)
    edge_lines: int = 3  # an outlet's header and footer: up to this many lines at each end of a text, of at most
    edge_words: int = 25  # this many words each, are left out of a comparison (see body_shingles); 0 lines: none
    chain_share: float = 0.8  # a copy of a copy joins its canonical when this share of what it shares with the
    #                           copy is in the canonical too (a chain to another original shares little)
    window_days: int | None = 30  # copies published further apart are not linked (None: no window)
    story_threshold: float = 0.15  # TF-IDF cosine of title + lead (seeds: video articles 0.16-0.24, 002 at most 0.134)
    story_window_days: int = 3
    lead_words: int = 300

    def fingerprint(self) -> str:
        """What stored signatures and pairs depend on: shingling, hashing and verification settings."""
        return f"{HASHING_VERSION} {self.minhash} {self.jaccard_threshold} {self.containment_threshold} " + (
            f"{self.estimate_slack} {self.min_shingles} {self.window_days} {self.slot_min_aligned} "
            f"{self.slot_substitution} {self.edge_lines} {self.edge_words}"
        )

    def __post_init__(self) -> None:
        for name in (
            "jaccard_threshold",
            "containment_threshold",
            "story_threshold",
            "slot_substitution",
            "chain_share",
        ):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        for name in ("min_shingles", "slot_min_aligned", "edge_lines", "edge_words"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")


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
    known: dict[str, TextFeatures],
    features: Callable[[list[str]], dict[str, TextFeatures]],
    batch: int = VERIFY_BATCH,
) -> list[tuple[str, str, str, float, float]]:
    """Keep the candidates that are copies: similar shingle sets and not templated siblings (see is_copy); equal
    texts when long enough; equal URLs always.

    Features not in `known` are asked of `features` (article ids in, id -> TextFeatures out) for `batch`
    candidates at a time, so memory stays bounded."""
    verified = []
    for start in range(0, len(candidates), batch):
        pairs = candidates[start : start + batch]
        loaded = features(sorted({i for a, b, _ in pairs for i in (a, b)}.difference(known)))
        for a, b, kind in pairs:
            first, second = known.get(a, loaded.get(a)), known.get(b, loaded.get(b))
            jaccard, containment, copy = compare(first, second, settings)
            enough = min(len(first.shingles), len(second.shingles)) >= settings.min_shingles
            if kind == "exact_url" or (enough and (kind == "exact_text" or copy)):
                verified.append((a, b, kind, round(jaccard, 4), round(containment, 4)))
    return verified


def compare(first: TextFeatures, second: TextFeatures, settings: DedupSettings) -> tuple[float, float, bool]:
    """(Jaccard, containment, is a copy): a copy has a Jaccard or containment over its threshold, on the whole
    texts or on their bodies (see body_shingles: always for two texts of one outlet, else when the whole texts
    fall short, since leaving out lines the other text lacks only raises both), and the shorter text keeps the
    figures and names the longer has in the same places (templated reports of other days share the wording but
    not the slots, similarity.slots)."""
    jaccard, containment = similarity(first.shingles, second.shingles)
    similar = jaccard >= settings.jaccard_threshold or containment >= settings.containment_threshold
    if (first.outlet and first.outlet == second.outlet) or not similar:
        bodies = body_shingles(first, second, settings), body_shingles(second, first, settings)
        jaccard, containment = similarity(*bodies)
        similar = min(map(len, bodies)) >= settings.min_shingles and (
            jaccard >= settings.jaccard_threshold or containment >= settings.containment_threshold
        )
    if not similar:
        return jaccard, containment, False
    shorter, longer = sorted((first, second), key=lambda f: len(f.shingles))
    aligned, substituted = substituted_slots(shorter.slots, longer.slots)
    return (
        jaccard,
        containment,
        aligned < settings.slot_min_aligned or substituted < settings.slot_substitution * aligned,
    )


def body_shingles(text: TextFeatures, other: TextFeatures, settings: DedupSettings) -> np.ndarray:
    """Shingles of a text without its outlet's header and footer as seen against another text: up to edge_lines
    short lines (edge_words words at most) at each end that share no shingle with the other text (a pickup's
    furniture around an original), or, from the same outlet (a known host), occur in the other text too (the
    furniture two articles of one outlet share). The whole shingle set when nothing is left out."""
    lines = [line.strip() for line in text.text.splitlines() if line.strip()]
    same_outlet = text.outlet and text.outlet == other.outlet
    other_lines = {line.strip() for line in other.text.splitlines()} if same_outlet else set()
    others = other.shingles  # sorted, unique

    def furniture(line: str) -> bool:
        if len(line.split()) > settings.edge_words:
            return False
        if line in other_lines:
            return True
        if not len(others):
            return True
        own = shingle_hashes(line, settings.minhash)
        return not (others[np.searchsorted(others, own).clip(max=len(others) - 1)] == own).any()

    start, end = 0, len(lines)
    while start < min(settings.edge_lines, end) and furniture(lines[start]):
        start += 1
    while end > max(start, len(lines) - settings.edge_lines) and furniture(lines[end - 1]):
        end -= 1
    if (start, end) == (0, len(lines)):
        return text.shingles
    return shingle_hashes("\n\n".join(lines[start:end]), settings.minhash)


def chained_share(article: TextFeatures, via: TextFeatures, canonical: TextFeatures, settings: DedupSettings) -> float:
    """Of the shingles an article's body (against the canonical, see body_shingles) shares with `via`, the share
    the canonical holds too: near 1 when the article and `via` share the canonical's text, low when they share
    what `via` added."""
    shared = np.intersect1d(body_shingles(article, canonical, settings), via.shingles, assume_unique=True)
    if not len(shared):
        return 0.0
    return len(np.intersect1d(shared, canonical.shingles, assume_unique=True)) / len(shared)


def confirms_chain(article: TextFeatures, via: TextFeatures, canonical: TextFeatures, settings: DedupSettings) -> bool:
    """An article linked to a canonical through `via` only belongs to its group when it is a copy of the canonical
    itself (compare, on the bodies: the pair may have been missed by LSH, not by verification) and what it shares
    with `via` is the canonical's text (chained_share >= chain_share)."""
    return compare(article, canonical, settings)[2] and chained_share(article, via, canonical, settings) >= (
        settings.chain_share
    )


def choose_canonicals(
    order: dict[str, OrderKey],
    pairs: list[tuple[str, str, float]],
    confirm: Callable[[str, str, str], bool] | None = None,
) -> dict[str, str]:
    """copy -> canonical: in canonical order, an article joins the most similar earlier canonical it is
    paired with. Else it joins the earliest canonical before it that one article it is paired with (an earlier
    copy, or a later article paired with that canonical) links it to, when `confirm(article, via, canonical)`
    holds: the warehouse checks that what the article shares with `via` is the canonical's text (chained_share),
    so a copy of a copy joins, but articles sharing only what a copy added are not chained. Else it is canonical.
    Each decision depends on the pairs and on the decisions before it only: the result is independent of the
    order the pairs come in."""
    neighbours: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for a, b, score in pairs:
        neighbours[a].append((score, b))
        neighbours[b].append((score, a))
    rank = {article_id: key.sort_key() for article_id, key in order.items()}
    assigned: dict[str, str] = {}
    for article_id in sorted(neighbours, key=rank.__getitem__):
        before = [(score, other) for score, other in neighbours[article_id] if rank[other] < rank[article_id]]
        earlier = [(score, other) for score, other in before if other not in assigned]
        if earlier:
            best_score = max(score for score, _ in earlier)
            assigned[article_id] = min((o for s, o in earlier if s == best_score), key=rank.__getitem__)
        elif confirm is not None:
            options = set()  # (rank, canonical, via): earlier canonicals reached through one paired article
            for _, other in neighbours[article_id]:
                if rank[other] < rank[article_id]:
                    options.add((rank[assigned[other]], assigned[other], other))
                else:
                    options.update(
                        (rank[c], c, other)
                        for _, c in neighbours[other]
                        if rank[c] < rank[article_id] and c not in assigned
                    )
            for _, canonical, via in sorted(options):
                if confirm(article_id, via, canonical):
                    assigned[article_id] = canonical
                    break
    return assigned
