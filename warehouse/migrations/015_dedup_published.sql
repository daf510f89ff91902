-- Canonical copies are chosen again only for the groups of pairs a run touches (warehouse/dedup.py), not over
-- every stored pair. Besides new, edited and deleted articles, a group is touched when an article's publication
-- date changes without its text (canonical order is by date): the signature keeps the date it was ordered by.
ALTER TABLE dedup_signatures ADD COLUMN published_at TIMESTAMP;
UPDATE dedup_signatures s SET published_at = a.published_at FROM articles a WHERE a.article_id = s.article_id;
