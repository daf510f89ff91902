-- Core tables: one row per ingested document, one per reject, one per flow run.

CREATE TABLE articles (
    article_id            VARCHAR PRIMARY KEY,      -- sha256(source_uri)[:16], stable across re-ingests
    source_uri            VARCHAR NOT NULL UNIQUE,  -- fetched URL after redirects, or file:// + absolute path
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


-- Documents that could not become articles; one row per source, stage and reason.
-- A source that later loads has its rejects cleared; what was loaded before a reject is kept.
CREATE TABLE rejects (
    source_uri  VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,   -- read, fetch, extract, load
    reason      VARCHAR NOT NULL,   -- short stable code: empty, binary, too_large, undecodable, ...
    detail      VARCHAR,
    run_id      VARCHAR NOT NULL,   -- the first run that recorded it
    "at"        TIMESTAMP NOT NULL,  -- quoted: AT is a keyword
    PRIMARY KEY (source_uri, stage, reason)
);

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    flow_name    VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,  -- running, completed, failed
    parameters   JSON,
    seen         INTEGER NOT NULL DEFAULT 0,
    loaded       INTEGER NOT NULL DEFAULT 0,  -- new articles
    updated      INTEGER NOT NULL DEFAULT 0,  -- changed content, same article_id
    unchanged    INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,  -- loaded articles that copy an earlier one
    rejected     INTEGER NOT NULL DEFAULT 0
);
