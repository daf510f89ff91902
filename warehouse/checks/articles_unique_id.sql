-- Every article_id and source_uri appears once.
SELECT 'article_id' AS key, article_id AS value, count(*) AS n FROM articles GROUP BY article_id HAVING count(*) > 1
UNION ALL
SELECT 'source_uri', source_uri, count(*) FROM articles GROUP BY source_uri HAVING count(*) > 1
