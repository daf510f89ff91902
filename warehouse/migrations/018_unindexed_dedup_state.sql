-- The dedup and story state tables that grow with the warehouse, without their PRIMARY KEYs (as 005 did for
-- articles and fetches). At 1,000,000 articles outlet_lines holds 5.7 million lines, and a run's insert into it
-- ran out of the writer's 256 MB (its key's ART index); DuckDB also rewrites every ART index in full at each
-- checkpoint, a cost that grows with the warehouse. The code never relied on the keys (a lake has none: upserts
-- are anti-joins or delete-then-insert); warehouse/checks/dedup_state_unique.sql checks the uniqueness.

CREATE TABLE dedup_signatures_unindexed (
    article_id     VARCHAR NOT NULL,   -- unique
    content_hash   VARCHAR NOT NULL,   -- the text the signature was computed from
    shingle_count  INTEGER NOT NULL,
    signature      UBIGINT[] NOT NULL, -- MinHash values, one per permutation
    published_at   TIMESTAMP
);
INSERT INTO dedup_signatures_unindexed SELECT article_id, content_hash, shingle_count, signature, published_at
FROM dedup_signatures;
DROP TABLE dedup_signatures;
ALTER TABLE dedup_signatures_unindexed RENAME TO dedup_signatures;

CREATE TABLE near_duplicates_unindexed (
    article_id   VARCHAR NOT NULL,  -- (article_id, other_id) unique
    other_id     VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,  -- exact_text, exact_url, near
    jaccard      DOUBLE NOT NULL,   -- of word shingles
    containment  DOUBLE NOT NULL    -- shared shingles / shingles of the shorter text
);
INSERT INTO near_duplicates_unindexed SELECT article_id, other_id, kind, jaccard, containment FROM near_duplicates;
DROP TABLE near_duplicates;
ALTER TABLE near_duplicates_unindexed RENAME TO near_duplicates;

CREATE TABLE outlet_lines_unindexed (
    outlet      VARCHAR NOT NULL,  -- (outlet, line_key) unique
    line_key    BIGINT NOT NULL,
    articles    INTEGER NOT NULL
);
INSERT INTO outlet_lines_unindexed SELECT outlet, line_key, articles FROM outlet_lines;
DROP TABLE outlet_lines;
ALTER TABLE outlet_lines_unindexed RENAME TO outlet_lines;

CREATE TABLE story_articles_unindexed (
    article_id    VARCHAR NOT NULL,    -- unique
    content_hash  VARCHAR NOT NULL,    -- the text the terms were computed from
    outlet        VARCHAR NOT NULL,
    published_at       TIMESTAMP,           -- the article's; its story date is published_at, else
    first_ingested_at  TIMESTAMP NOT NULL,  -- first_ingested_at (kept apart: the second is bookkeeping)
    story_id      VARCHAR NOT NULL,
    terms         VARCHAR[] NOT NULL,  -- story terms of the title and lead without furniture
    counts        INTEGER[] NOT NULL   -- their counts
);
INSERT INTO story_articles_unindexed
SELECT article_id, content_hash, outlet, published_at, first_ingested_at, story_id, terms, counts FROM story_articles;
DROP TABLE story_articles;
ALTER TABLE story_articles_unindexed RENAME TO story_articles;

CREATE TABLE stories_unindexed (
    story_id     VARCHAR NOT NULL,  -- unique
    created      BIGINT NOT NULL,
    merged_into  VARCHAR
);
INSERT INTO stories_unindexed SELECT story_id, created, merged_into FROM stories;
DROP TABLE stories;
ALTER TABLE stories_unindexed RENAME TO stories;
