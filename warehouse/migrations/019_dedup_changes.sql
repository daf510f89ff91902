-- The change record: which articles changed since the last completed dedup update, so a run's near-duplicates,
-- canonical copies and stories look at those articles and their window only, not at every row of the warehouse
-- (comparing `articles` with the dedup and story state took 0.2-0.4 s a statement at 1,000,000 articles). A row is
-- written in the transaction that changes the article: a load's new and changed articles (warehouse/load.py), a
-- delete (delete_articles), the rededup backfill (warehouse/backfill.py); the canonical step adds the articles
-- whose duplicate_of it changed, for the stories. An update claims the rows it starts with (`taken`) and deletes
-- them in the transaction that commits the stories (warehouse/changes.py); rows written meanwhile wait for the
-- next update.
CREATE TABLE IF NOT EXISTS dedup_changes (
    article_id         VARCHAR NOT NULL,
    published_at       TIMESTAMP,           -- the article's publication date then (a redate notes the old and the new):
                                            -- where its signature and bands are
    first_ingested_at  TIMESTAMP NOT NULL,  -- never changes: where its row and its story state are
    taken              BOOLEAN NOT NULL     -- claimed by the update under way
);

-- An update that compares every article with its state instead (a count of articles and signatures that disagrees
-- with the record; new settings; an upgrade with work not recorded) says so here, and its stories do the same. A row
-- left by an older version is such an update (NULL). An update cut short goes on from the record.
ALTER TABLE dedup_pending ADD COLUMN IF NOT EXISTS compare_all BOOLEAN;

-- A warehouse upgraded with changes not deduplicated yet (a run killed between its load and its dedup) has no
-- record of them: its next update compares every article.
INSERT INTO dedup_pending (since, compare_all)
SELECT now()::TIMESTAMP, true
WHERE NOT EXISTS (SELECT 1 FROM dedup_pending)
  AND (EXISTS (SELECT 1 FROM articles a LEFT JOIN dedup_signatures s USING (article_id)
               WHERE s.article_id IS NULL OR s.content_hash <> a.content_hash
                  OR (s.published_at IS DISTINCT FROM a.published_at      -- an undated signature is NULL, or
                      AND s.published_at IS DISTINCT FROM coalesce(a.published_at, 'infinity'::TIMESTAMP)))
       OR EXISTS (SELECT 1 FROM dedup_signatures s ANTI JOIN articles a USING (article_id)));
