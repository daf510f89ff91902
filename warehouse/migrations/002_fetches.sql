-- The last response per fetched URL: validators for conditional GETs and the raw body for re-extraction.

CREATE TABLE fetches (
    url                  VARCHAR PRIMARY KEY,  -- the requested URL (normalized)
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
