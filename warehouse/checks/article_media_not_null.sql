-- Media rows have an id, a known platform and kind, and a URL; link rows a URL and a host.
SELECT 'article_media' AS "table", article_id, platform, media_id, kind FROM article_media
WHERE article_id IS NULL OR media_id IS NULL OR media_id = '' OR url IS NULL
   OR platform NOT IN ('youtube', 'vimeo', 'dailymotion', 'x', 'telegram', 'facebook', 'instagram', 'tiktok', 'vk',
                       'rutube', 'file')
   OR kind IS NULL OR kind NOT IN ('embed', 'og', 'link')
UNION ALL
SELECT 'article_links', article_id, NULL, url, host FROM article_links
WHERE article_id IS NULL OR url IS NULL OR host IS NULL OR host = ''
