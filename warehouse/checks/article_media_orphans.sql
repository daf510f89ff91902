-- Every media and link row belongs to a stored article (they are deleted with it).
SELECT 'article_media' AS "table", m.article_id, m.platform || ':' || m.media_id AS item FROM article_media m
WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = m.article_id)
UNION ALL
SELECT 'article_links', l.article_id, l.url FROM article_links l
WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = l.article_id)
