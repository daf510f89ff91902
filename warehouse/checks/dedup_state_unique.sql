-- The keys of the dedup and story state appear once (migration 018 dropped their PRIMARY KEYs).
SELECT 'dedup_signatures' AS key, article_id AS value, count(*) AS n FROM dedup_signatures GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'near_duplicates', article_id || ' ' || other_id, count(*) FROM near_duplicates GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'outlet_lines', outlet || ' ' || line_key, count(*) FROM outlet_lines GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'story_articles', article_id, count(*) FROM story_articles GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'stories', story_id, count(*) FROM stories GROUP BY ALL HAVING count(*) > 1
