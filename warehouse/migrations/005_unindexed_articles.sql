-- articles and fetches without PRIMARY KEY / UNIQUE constraints. DuckDB rewrites a table's ART indexes in
-- full at every checkpoint, and a writer checkpoints when it closes after each batch: with both indexes a
-- checkpoint after 200 new rows took 0.2 s at 5,000 articles and 1.3 s at 42,000 (0.01-0.02 s without), so
-- loads grew with the warehouse. Uniqueness is kept by the single writer's upserts (warehouse/load.py) and
-- checked by warehouse/checks/articles_unique_id.sql and fetches_unique_url.sql.

CREATE TABLE articles_unindexed (
    article_id            VARCHAR NOT NULL,         -- sha256(source_uri)[:16], stable across re-ingests; unique
    source_uri            VARCHAR NOT NULL,         -- unique; fetched URL after redirects, or file:// + absolute path
    url                   VARCHAR,                  -- canonical URL where known
    title                 VARCHAR,
    author                VARCHAR,
    site_name             VARCHAR,
    published_at          TIMESTAMP,
    description           VARCHAR,
    tags                  VARCHAR[],
    language              VARCHAR,                  -- ISO 639-1, NULL when undecidable
    language_probability  DOUBLE,
    text                  VARCHAR NOT NULL,
    word_count            INTEGER NOT NULL,
    content_hash          VARCHAR NOT NULL,         -- sha256 of the normalized text
    raw_sha256            VARCHAR NOT NULL,         -- sha256 of the input bytes: unchanged input skips extraction
    extractor_version     VARCHAR NOT NULL,
    duplicate_of          VARCHAR,                  -- article_id of the canonical copy
    story_id              VARCHAR,                  -- group of articles about the same event
    first_ingested_at     TIMESTAMP NOT NULL,
    ingested_at           TIMESTAMP NOT NULL,       -- when this version was loaded
    run_id                VARCHAR NOT NULL          -- the run that loaded this version
);

INSERT INTO articles_unindexed SELECT * FROM articles;
DROP TABLE articles;
ALTER TABLE articles_unindexed RENAME TO articles;

CREATE TABLE fetches_unindexed (
    url                  VARCHAR NOT NULL,     -- the requested URL (normalized); unique
    final_url            VARCHAR NOT NULL,     -- after redirects; articles.source_uri
    status               INTEGER,
    redirects            VARCHAR[],            -- the chain of URLs before final_url
    content_type         VARCHAR,
    charset              VARCHAR,              -- from the Content-Type header
    etag                 VARCHAR,
    last_modified        VARCHAR,
    body_gzip            BLOB,                 -- raw body (after Content-Encoding), gzip-compressed
    body_bytes           INTEGER,
    raw_sha256           VARCHAR,
    listed_published_at  TIMESTAMP,            -- date the feed or sitemap gave
    source_name          VARCHAR,
    fetched_at           TIMESTAMP NOT NULL,   -- when this body was fetched
    attempts             INTEGER,
    run_id               VARCHAR NOT NULL
);

INSERT INTO fetches_unindexed SELECT * FROM fetches;
DROP TABLE fetches;
ALTER TABLE fetches_unindexed RENAME TO fetches;
