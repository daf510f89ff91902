-- duplicate_of points at an existing canonical article, never at itself or at another copy.
SELECT a.article_id, a.duplicate_of FROM articles a
LEFT JOIN articles c ON c.article_id = a.duplicate_of
WHERE a.duplicate_of IS NOT NULL
  AND (c.article_id IS NULL OR a.duplicate_of = a.article_id OR c.duplicate_of IS NOT NULL)
