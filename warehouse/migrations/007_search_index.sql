-- The full-text index becomes two plain tables that each batch load keeps up to date in its own transaction
-- (warehouse/search.py), replacing the fts extension's index, which was rebuilt over every article at the end
-- of each run (40 s of CPU and 870 MB at 20,000 articles, growing with the warehouse) and which a DuckLake
-- warehouse could not store. Articles loaded before this migration are indexed by the next ingest run.
DROP SCHEMA IF EXISTS fts_main_articles CASCADE;

CREATE SCHEMA search;

CREATE TABLE search.documents (
    article_id   VARCHAR NOT NULL,     -- one row per indexed article
    ingested_at  TIMESTAMP NOT NULL,   -- the version indexed: articles.ingested_at when it was indexed
    terms        INTEGER NOT NULL      -- indexed words (stop words left out): BM25's document length
);

CREATE TABLE search.postings (
    article_id  VARCHAR NOT NULL,
    term        UBIGINT NOT NULL,      -- hash() of the word's Porter stem
    tf          INTEGER NOT NULL       -- occurrences in the title and the text
);
