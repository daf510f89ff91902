-- Each run's dedup work follows its new articles, not the warehouse (warehouse/dedup.py):
-- - canonical copies are chosen again only for the groups of pairs a run touches; besides new, edited and deleted
--   articles, a group is touched when an article's publication date changes without its text (canonical order
--   is by date), so the signature keeps the date it was ordered by;
-- - the LSH bands keep their article's date, so a run's candidate query reads only the bands within the copy
--   window of its articles (and the undated ones), not 64 rows of every stored article.
ALTER TABLE dedup_signatures ADD COLUMN published_at TIMESTAMP;
UPDATE dedup_signatures s SET published_at = a.published_at FROM articles a WHERE a.article_id = s.article_id;
ALTER TABLE dedup_bands ADD COLUMN published_at TIMESTAMP;
UPDATE dedup_bands b SET published_at = a.published_at FROM articles a WHERE a.article_id = b.article_id;
