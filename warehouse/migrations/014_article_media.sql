-- What each article embeds and cites (extractors/media.py), replaced with the article's row by every load
-- (warehouse/load.py). No PRIMARY KEY / UNIQUE constraints, as for articles (migration 005): uniqueness is kept by
-- the single writer's delete-then-insert and checked by warehouse/checks/article_media_*.sql and article_links_*.

-- One row per media item an article carries: `platform:media_id` is the same whatever URL form carried it
-- (youtube:VIDEO_ID, x:STATUS_ID, telegram:channel/post, vk:OWNER_VIDEO, file:host/path, ...).
CREATE TABLE article_media (
    article_id  VARCHAR NOT NULL,
    platform    VARCHAR NOT NULL,   -- youtube, vimeo, dailymotion, x, telegram, facebook, instagram, tiktok, vk, rutube, file
    media_id    VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,   -- the URL as the page gave it (first seen of the strongest kind)
    kind        VARCHAR NOT NULL    -- embed (a player or embed on the page), og (the page's metadata), link (main text)
);

-- One row per link in an article's main text (not navigation or furniture), normalized like article URLs.
CREATE TABLE article_links (
    article_id  VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    host        VARCHAR NOT NULL,
    anchor      VARCHAR             -- the link's text; NULL for a URL written out in a plain-text document
);
