-- Every article whose near-duplicate signature is of another text or date is in the change record.
-- A run's dedup looks at the recorded articles only (warehouse/changes.py), and notices an article deleted or
-- added with SQL by the counts of articles and signatures; a row here is an article edited or redated with SQL
-- instead of a load, which the next update would not see. Deduplicate its day again: `mediamon backfill --mode
-- rededup`. Nothing is checked while an update that compares every article is pending.
SELECT a.article_id, a.content_hash, a.published_at, s.content_hash AS signed_hash, s.published_at AS signed_date
FROM articles a JOIN dedup_signatures s USING (article_id)
WHERE (s.content_hash <> a.content_hash OR s.published_at IS DISTINCT FROM coalesce(a.published_at, 'infinity'::TIMESTAMP))
  AND a.article_id NOT IN (SELECT article_id FROM dedup_changes)
  AND NOT EXISTS (SELECT 1 FROM dedup_pending WHERE coalesce(compare_all, true))
