-- Every article whose near-duplicate signature is missing or not of its text and date is in the change record.
-- A run's dedup looks at the recorded articles only (warehouse/changes.py): a row here is an article inserted,
-- edited or redated with SQL instead of a load, or a signature whose article was deleted with SQL, that the next
-- update would not see (a deletion it does notice, by the counts). Re-deduplicate the article's day:
-- `mediamon backfill --mode rededup`. Nothing is checked while an update that compares every article is pending.
WITH pending AS (
    SELECT 1 FROM dedup_pending WHERE coalesce(compare_all, true)
), recorded AS (
    SELECT DISTINCT article_id FROM dedup_changes
)
SELECT a.article_id, CASE WHEN s.article_id IS NULL THEN 'no signature' ELSE 'a signature of another text or date'
                     END AS problem
FROM articles a LEFT JOIN dedup_signatures s USING (article_id)
WHERE (s.article_id IS NULL OR s.content_hash <> a.content_hash
       OR s.published_at IS DISTINCT FROM coalesce(a.published_at, 'infinity'::TIMESTAMP))
  AND a.article_id NOT IN (SELECT article_id FROM recorded)
  AND NOT EXISTS (FROM pending)
UNION ALL
SELECT s.article_id, 'the signature of a deleted article'
FROM dedup_signatures s ANTI JOIN articles a USING (article_id)
WHERE s.article_id NOT IN (SELECT article_id FROM recorded)
  AND NOT EXISTS (FROM pending)
