-- Near-duplicate detection state (kept so new articles are matched incrementally), and topic monitors.

CREATE TABLE dedup_signatures (
    article_id     VARCHAR PRIMARY KEY,
    content_hash   VARCHAR NOT NULL,   -- the text the signature was computed from
    shingle_count  INTEGER NOT NULL,
    signature      UBIGINT[] NOT NULL  -- MinHash values, one per permutation
);

-- LSH buckets: articles sharing a (band, band_key) are candidate near-duplicates.
CREATE TABLE dedup_bands (
    band        SMALLINT NOT NULL,
    band_key    UBIGINT NOT NULL,
    article_id  VARCHAR NOT NULL
);

-- Verified pairs (article_id < other_id) and the similarity that linked them.
CREATE TABLE near_duplicates (
    article_id   VARCHAR NOT NULL,
    other_id     VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,  -- exact_text, exact_url, near
    jaccard      DOUBLE NOT NULL,   -- of word shingles
    containment  DOUBLE NOT NULL,   -- shared shingles / shingles of the shorter text
    PRIMARY KEY (article_id, other_id)
);

CREATE TABLE monitors (
    name   VARCHAR PRIMARY KEY,
    query  VARCHAR NOT NULL        -- boolean keyword query: AND, OR, NOT, "phrases", parentheses
);

CREATE TABLE monitor_matches (
    monitor     VARCHAR NOT NULL,
    article_id  VARCHAR NOT NULL,
    PRIMARY KEY (monitor, article_id)
);
