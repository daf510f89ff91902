-- Articles whose media items changed while their text did not (an edit that only embeds a video), kept from the
-- load (warehouse/load.py) until the story step has joined their stories by the new media
-- (warehouse/stories.py, join_stories_by_media), which empties it in its transaction. A row here also makes the
-- next run update duplicates and stories though no article text changed (warehouse/dedup.py, dedup_is_current).
CREATE TABLE media_changes (
    article_id  VARCHAR NOT NULL
);
