-- Each media item appears once per article, and each cited URL once per article.
SELECT 'article_media' AS "table", article_id, platform || ':' || media_id AS item, count(*) AS n
FROM article_media GROUP BY article_id, platform, media_id HAVING count(*) > 1
UNION ALL
SELECT 'article_links', article_id, url, count(*) FROM article_links GROUP BY article_id, url HAVING count(*) > 1
