-- Every fetched URL has one stored response.
SELECT url, count(*) AS n FROM fetches GROUP BY url HAVING count(*) > 1
