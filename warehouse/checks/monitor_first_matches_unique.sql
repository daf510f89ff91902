-- Each (monitor, article) has one first match, and every stored match has one.
SELECT 'duplicate' AS problem, monitor, article_id, count(*) AS n
FROM monitor_first_matches GROUP BY monitor, article_id HAVING count(*) > 1
UNION ALL
SELECT 'missing', m.monitor, m.article_id, 0
FROM monitor_matches m
WHERE NOT EXISTS (SELECT 1 FROM monitor_first_matches f WHERE f.monitor = m.monitor AND f.article_id = m.article_id)
