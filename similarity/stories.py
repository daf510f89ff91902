"""Stories (pure): the terms of an article's title and lead, and single-link groups of articles about the same
event by TF-IDF cosine within a time window."""

from __future__ import annotations

import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import numpy as np
from scipy import sparse

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


def group_stories(
    documents: Iterable[tuple[str, datetime | None, Counter]], threshold: float, window_days: int
) -> dict[str, str]:
    """article_id -> story_id: single-link groups of TF-IDF cosine >= threshold within the time window.

    Documents are consumed one at a time into 4-byte arrays (term ids and counts), so memory grows with the term
    occurrences, not with per-document dicts, and weights are normalized in place (float32 cosines: a pair within
    1e-6 of the threshold may fall either side). The story id is the id of the group's earliest member (then
    smallest id), so it is stable."""
    ids: list[str] = []
    times: list[datetime | None] = []
    vocabulary: dict[str, int] = {}
    terms, counts, indptr = array("i"), array("f"), array("q", [0])
    for article_id, when, document_terms in documents:
        ids.append(article_id)
        times.append(when)
        terms.extend(vocabulary.setdefault(term, len(vocabulary)) for term in document_terms)
        counts.extend(document_terms.values())
        indptr.append(len(terms))
    count = len(ids)
    term_ids = np.frombuffer(terms, dtype=np.int32) if terms else np.empty(0, dtype=np.int32)
    idf = np.log((1 + count) / (1 + np.bincount(term_ids, minlength=len(vocabulary)))) + 1
    weights = np.frombuffer(counts, dtype=np.float32).copy() if counts else np.empty(0, dtype=np.float32)
    del counts
    np.log(weights, out=weights)
    weights += 1
    weights *= idf.astype(np.float32)[term_ids]
    starts = np.frombuffer(indptr, dtype=np.int64)
    squares = np.concatenate(([0.0], np.cumsum(np.square(weights, dtype=np.float64))))
    norms = np.sqrt(squares[starts[1:]] - squares[starts[:-1]]).astype(np.float32)
    del squares
    norms[norms == 0] = 1.0
    weights /= np.repeat(norms, np.diff(starts))
    matrix = sparse.csr_matrix((weights, term_ids, starts), shape=(count, max(1, len(vocabulary))))
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _story_pairs(matrix, times, threshold, timedelta(days=window_days)):
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(count):
        groups[find(i)].append(i)
    story = {}
    for members in groups.values():
        first = min(members, key=lambda i: (times[i] is None, times[i] or datetime.min, ids[i]))
        for i in members:
            story[ids[i]] = ids[first]
    return story


_PRODUCT_CELLS = 4_000_000  # rows x columns of one block product: bounds its memory


def _story_pairs(
    matrix: sparse.csr_matrix, times: list[datetime | None], threshold: float, window: timedelta
) -> Iterator[tuple[int, int]]:
    """Pairs with cosine >= threshold and dates within `window` (or unknown), as sparse matrix products over
    blocks of documents sorted by date: each block is multiplied only with the documents its window can reach,
    so the work grows with documents x documents per window, not documents squared."""
    count = matrix.shape[0]
    dated = np.array(sorted((i for i, t in enumerate(times) if t is not None), key=times.__getitem__), dtype=np.int64)
    undated = np.array([i for i, t in enumerate(times) if t is None], dtype=np.int64)
    epoch = datetime(1970, 1, 1)
    seconds = np.array([(times[i] - epoch).total_seconds() for i in dated], dtype=float)
    span = window.total_seconds()
    when = np.full(count, np.nan)
    when[dated] = seconds
    blocks = []
    step = max(1, _PRODUCT_CELLS // max(1, count))
    blocks += [(undated[a : a + step], np.arange(count)) for a in range(0, len(undated), step)]
    start = 0
    while start < len(dated):
        stop = min(start + 256, len(dated))
        lo = np.searchsorted(seconds, seconds[start] - span, "left")
        hi = np.searchsorted(seconds, seconds[stop - 1] + span, "right")
        stop = min(stop, start + max(1, _PRODUCT_CELLS // max(1, hi - lo)))
        blocks.append((dated[start:stop], dated[lo:hi]))
        start = stop
    for rows, cols in blocks:
        product = (matrix[rows] @ matrix[cols].T).tocoo()
        keep = product.data >= threshold
        i, j = rows[product.row[keep]], cols[product.col[keep]]
        keep = (i != j) & ~(np.abs(when[i] - when[j]) > span)  # NaN (an unknown date) is never over the window
        yield from zip(i[keep].tolist(), j[keep].tolist(), strict=True)
