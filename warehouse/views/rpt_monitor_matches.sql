-- Matches per monitor and day: how many articles (and unique stories and outlets) each topic monitor caught.

WITH source AS (
    SELECT
        monitor_matches.monitor,
        monitors.query,
        rpt_articles.*
    FROM monitor_matches
    JOIN rpt_articles USING (article_id)
    LEFT JOIN monitors ON monitors.name = monitor_matches.monitor
),

cleaned AS (
    SELECT
        monitor,
        query,
        day,
        article_id,
        story_key,
        outlet
    FROM source
),

final AS (
    SELECT
        monitor,
        query,
        day,
        count(*) AS articles,
        count(DISTINCT story_key) AS unique_stories,
        count(DISTINCT nullif(outlet, '(unknown)')) AS outlets
    FROM cleaned
    GROUP BY ALL
)

SELECT * FROM final ORDER BY monitor, day
