-- Story state kept between runs (warehouse/stories.py), so a run reads the text of its new or changed canonical
-- articles only, and the stored terms of the articles within the story window of them.

-- The distinct lines of each canonical article, by outlet (host of its URL): furniture is learned from them.
CREATE TABLE article_lines (
    article_id  VARCHAR NOT NULL,
    outlet      VARCHAR NOT NULL,
    line_key    BIGINT NOT NULL    -- similarity.furniture.line_key of the normalized line
);

-- In how many of an outlet's canonical articles each line occurs; from `furniture_articles` on, it is furniture.
CREATE TABLE outlet_lines (
    outlet      VARCHAR NOT NULL,
    line_key    BIGINT NOT NULL,
    articles    INTEGER NOT NULL,
    PRIMARY KEY (outlet, line_key)
);

-- Each canonical article's story features and story.
CREATE TABLE story_articles (
    article_id    VARCHAR PRIMARY KEY,
    content_hash  VARCHAR NOT NULL,    -- the text the terms were computed from
    outlet        VARCHAR NOT NULL,
    published_at       TIMESTAMP,           -- the article's; its story date is published_at, else
    first_ingested_at  TIMESTAMP NOT NULL,  -- first_ingested_at (kept apart: the second is bookkeeping)
    story_id      VARCHAR NOT NULL,
    terms         VARCHAR[] NOT NULL,  -- story terms of the title and lead without furniture
    counts        INTEGER[] NOT NULL   -- their counts
);

-- Document frequency of each story term over story_articles (the IDF of the story vectors).
CREATE TABLE story_terms (
    term      VARCHAR PRIMARY KEY,
    articles  INTEGER NOT NULL
);

-- Every story id given, in creation order: a merge keeps the older id and records the other's merged_into.
CREATE TABLE stories (
    story_id     VARCHAR PRIMARY KEY,
    created      BIGINT NOT NULL,
    merged_into  VARCHAR
);

CREATE TABLE story_settings (
    fingerprint  VARCHAR NOT NULL
);
