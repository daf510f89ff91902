"""Stories (pure): the terms of an article's title and lead, and the assignment of articles to stories about the
same event: each new article joins the existing story it is most similar to on average (TF-IDF cosine with the
story's members within the time window), else starts a story. Story ids never change once given, except when
two stories are merged, and then the older id wins. `group_stories` is the former single-link grouping (it
chains: A~B and B~C put A and C together), kept for comparison in tests."""

from __future__ import annotations

import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class StorySettings:
    """Story grouping; defaults chosen with bench/dedup/evaluate_stories.py (see bench/dedup/README.md)."""

    threshold: float = 0.28  # mean TF-IDF cosine of a new article with a story's members in its window
    merge_threshold: float = 0.2  # mean cosine between two stories' members for an article to merge them
    window_days: int = 3  # members further apart than this from the new article are not compared
    lead_words: int = 300  # title (twice) and the first words of the text without furniture
    furniture_articles: int = 4  # a line in this many of an outlet's canonical articles is furniture
    min_idf_documents: int = 200  # IDF as if the warehouse held at least this many articles (see
    #                               idf_weights; the seeds: video articles 0.29-0.37, 002 at most 0.25)
    linkage: str = "average"  # "average": mean cosine with the members; "centroid": cosine with their mean

    def fingerprint(self) -> str:
        """What stored story state depends on: changed settings recompute the stories."""
        return f"stories-1 {self.threshold} {self.merge_threshold} {self.window_days} {self.lead_words} " + (
            f"{self.furniture_articles} {self.min_idf_documents} {self.linkage}"
        )

    def __post_init__(self) -> None:
        for name in ("threshold", "merge_threshold"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.linkage not in ("average", "centroid"):
            raise ValueError(f"linkage must be 'average' or 'centroid', got {self.linkage!r}")
        if self.window_days < 0 or self.lead_words < 1 or self.furniture_articles < 2:
            raise ValueError("window_days must be >= 0, lead_words >= 1 and furniture_articles >= 2")


@dataclass(frozen=True)
class StoryDocument:
    """A canonical article for story assignment: its date (published, else first seen), its story terms, and
    its story when it already has one."""

    article_id: str
    when: datetime
    terms: Mapping[str, float]
    story_id: str | None = None


@dataclass
class StoryAssignment:
    stories: dict[str, str] = field(default_factory=dict)  # new article_id -> story_id
    merged: dict[str, str] = field(default_factory=dict)  # story_id that was merged -> the story it joined
    created: list[str] = field(default_factory=list)  # new story ids, oldest first


def idf_weights(document_frequency: np.ndarray, documents: int, min_documents: int = 0) -> np.ndarray:
    """Smoothed IDF of each document frequency, as scikit-learn's: log((1 + n) / (1 + df)) + 1, with n at least
    `min_documents`: in a small warehouse, a topic's own words are in most articles and would weigh as little as
    common words, so the missing documents are counted as documents without the term. -1 marks a term without a
    document frequency: it weighs as the rarest term given (1.0 when none is)."""
    n = max(documents, min_documents)
    found = document_frequency >= 0
    idf = np.ones(len(document_frequency), dtype=np.float64)
    idf[found] = np.log((1 + n) / (1 + document_frequency[found])) + 1
    idf[~found] = idf[found].max() if found.any() else 1.0
    return idf


def assign_story_documents(
    known: Sequence[StoryDocument],
    new: Sequence[StoryDocument],
    idf: Mapping[str, float],
    settings: StorySettings,
    created: Mapping[str, int] | None = None,
) -> StoryAssignment:
    """Assign the new documents, in date order (then id), to stories.

    `known` are documents with a story (those within the window of the new ones suffice); `created` gives the
    creation order of existing story ids (smaller is older; missing ids are older than any created here). Each
    new document is compared with the documents already in a story within `window_days` of it; its score for a
    story is the mean cosine with those members (average link, so one similar member cannot pull in an article
    the rest of the story does not support). It joins the best story scoring >= threshold, else starts one with
    its own id. Another story that also scores >= threshold is merged into the same one when the mean cosine
    between the two stories' members in the window is >= merge_threshold; the older id wins."""
    if not new:
        return StoryAssignment()
    documents = [*known, *sorted(new, key=lambda d: (d.when, d.article_id))]
    epoch = datetime(1970, 1, 1)
    return assign_story_rows(
        _tfidf_matrix([d.terms for d in documents], idf),
        [d.article_id for d in documents],
        np.array([(d.when - epoch).total_seconds() for d in documents], dtype=float),
        [d.story_id for d in known],
        settings,
        created,
    )


_BLOCK_CELLS = 4_000_000  # documents in the window x new documents of one block of cosines (float32, 16 MB)


def assign_story_rows(
    matrix: sparse.csr_matrix,
    ids: Sequence[str],
    seconds: np.ndarray,
    known_stories: Sequence[str | None],
    settings: StorySettings,
    created: Mapping[str, int] | None = None,
) -> StoryAssignment:
    """assign_story_documents on rows of a TF-IDF matrix (see tfidf_rows): the first len(known_stories) rows are
    the known documents (their stories, None for none), the others the new ones in date order, then id; `seconds`
    are the documents' dates as seconds since 1970.

    The cosines of a block of new documents with every document within the window of one of them are one sparse
    product; each new document then sums its cosines per story with a bincount over its window, in time order,
    so the sums are the same floats as adding them one by one."""
    result = StoryAssignment()
    order_of: dict[str, int] = dict(created or {})
    next_order = max(order_of.values(), default=-1) + 1
    count, first_new = len(ids), len(known_stories)
    if count == first_new:
        return result
    by_time = np.argsort(seconds, kind="stable")
    sorted_seconds = seconds[by_time]
    span = float(settings.window_days) * 86400
    starts = np.searchsorted(sorted_seconds, seconds[first_new:] - span, "left")
    stops = np.searchsorted(sorted_seconds, seconds[first_new:] + span, "right")
    index_of: dict[str, int] = {}
    story_of = np.full(count, -1, dtype=np.int64)  # document -> story index, -1 while it has none
    for j, story in enumerate(known_stories):
        if story is not None:
            story_of[j] = index_of.setdefault(story, len(index_of))
    names = list(index_of)  # story index -> id
    root = np.arange(len(names) + count - first_new, dtype=np.int64)  # story index -> the story it is merged into
    parent: dict[str, str] = {}
    used = set(order_of) | set(index_of)

    def age(story: str) -> tuple[int, str]:
        return (order_of.get(story, -1), story)

    block_start = first_new
    while block_start < count:
        lo = starts[block_start - first_new]
        block_stop = block_start + 1
        while block_stop < count and (stops[block_stop - first_new] - lo) * (block_stop + 1 - block_start) <= (
            _BLOCK_CELLS
        ):
            block_stop += 1
        hi = stops[block_stop - 1 - first_new]
        # Rows are the window's documents, so each cosine is summed over their terms in their order, as a product
        # with one new document at a time would.
        cosines = (matrix[by_time[lo:hi]] @ matrix[block_start:block_stop].T).toarray()
        for i in range(block_start, block_stop):
            a, b = starts[i - first_new], stops[i - first_new]
            window = by_time[a:b]
            labelled = story_of[window] >= 0
            near = window[labelled]
            ranked: list[tuple[float, str]] = []
            if len(near):
                sims = cosines[a - lo : b - lo, i - block_start][labelled].astype(np.float64)
                stories_near = root[story_of[near]]
                sums = np.bincount(stories_near, weights=sims)
                sizes = np.bincount(stories_near)
                present = np.flatnonzero(sizes)
                if settings.linkage == "centroid":
                    present = present[sums[present] > 0]
                    scores = [
                        sums[s] / np.sqrt(max(float((matrix[m] @ matrix[m].T).sum()), 1e-12))
                        for s in present.tolist()
                        for m in [near[stories_near == s].tolist()]
                    ]
                else:
                    scores = (sums[present] / sizes[present]).tolist()
                ranked = sorted(
                    ((score, names[s]) for s, score in zip(present.tolist(), scores, strict=True)
                     if score >= settings.threshold),
                    key=lambda x: (-x[0], age(x[1])),
                )  # fmt: skip
            if ranked:
                story = ranked[0][1]
                for _, other in ranked[1:]:
                    stories_near = root[story_of[near]]
                    mine = [*near[stories_near == index_of[story]].tolist(), i]
                    theirs = near[stories_near == index_of[other]].tolist()
                    link = float((matrix[mine] @ matrix[theirs].T).mean())
                    if link >= settings.merge_threshold:
                        keep, drop = sorted((story, other), key=age)
                        parent[drop] = keep
                        root[root == index_of[drop]] = index_of[keep]
                        story = keep
            else:
                story, suffix = ids[i], 1
                while story in used:
                    suffix += 1
                    story = f"{ids[i]}-{suffix}"
                used.add(story)
                order_of[story] = next_order
                next_order += 1
                index_of[story] = len(names)
                names.append(story)
                result.created.append(story)
            story_of[i] = index_of[story]
        block_start = block_stop
    for i in range(first_new, count):
        result.stories[ids[i]] = names[root[story_of[i]]]
    result.merged = {story: names[root[index_of[story]]] for story in parent}
    result.created = [story for story in result.created if story not in parent]
    return result


def tfidf_rows(
    indptr: np.ndarray, columns: np.ndarray, tf: np.ndarray, idf: np.ndarray, width: int
) -> sparse.csr_matrix:
    """Rows of sublinear TF x IDF, L2-normalized, from CSR arrays: row r holds the terms columns[indptr[r] :
    indptr[r + 1]] (ids of a vocabulary of `width` terms, each once) with their counts `tf`; `idf` per term id."""
    data = ((1 + np.log(np.asarray(tf, dtype=np.float64))) * idf[columns]).astype(np.float32)
    cols = np.asarray(columns, dtype=np.int32)
    matrix = sparse.csr_matrix((data, cols, np.asarray(indptr, dtype=np.int64)), shape=(len(indptr) - 1, max(1, width)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1 / norms) @ matrix)


def _tfidf_matrix(documents: Sequence[Mapping[str, float]], idf: Mapping[str, float]) -> sparse.csr_matrix:
    """Rows of sublinear TF x IDF, L2-normalized (an unknown term weighs as a term seen once)."""
    vocabulary: dict[str, int] = {}
    indices, counts, indptr = array("i"), array("d"), array("q", [0])
    for terms in documents:
        for term, tf in terms.items():
            if tf > 0:
                indices.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(tf)
        indptr.append(len(indices))
    default = max(idf.values(), default=1.0)
    weights = np.array([idf.get(term, default) for term in vocabulary], dtype=np.float64)
    cols = np.frombuffer(indices, dtype=np.int32) if indices else np.empty(0, dtype=np.int32)
    tf = np.frombuffer(counts, dtype=np.float64) if counts else np.empty(0, dtype=np.float64)
    return tfidf_rows(np.frombuffer(indptr, dtype=np.int64), cols, tf, weights, len(vocabulary))
