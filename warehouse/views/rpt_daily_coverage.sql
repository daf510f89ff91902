-- Coverage per day (publication date, else first ingest date): articles, unique stories, outlets, languages.
-- Days between the first and the last with no article are listed with zeros, so charts show the gaps.

WITH source AS (
    SELECT * FROM rpt_articles
),

cleaned AS (
    SELECT
        day,
        article_id,
        story_key,
        outlet,
        language,
        duplicate_of IS NOT NULL AS is_copy
    FROM source
),

per_day AS (
    SELECT
        day,
        count(*) AS articles,
        count(DISTINCT story_key) AS unique_stories,
        count(*) FILTER (WHERE is_copy) AS copies,
        count(DISTINCT nullif(outlet, '(unknown)')) AS outlets,
        count(DISTINCT language) AS languages,
        string_agg(DISTINCT language, ', ' ORDER BY language) AS language_codes
    FROM cleaned
    GROUP BY day
),

calendar AS (
    SELECT CAST(d AS DATE) AS day
    FROM (SELECT min(day) AS first_day, max(day) AS last_day FROM per_day) AS bounds,
        range(bounds.first_day, bounds.last_day + 1, INTERVAL 1 DAY) AS r(d)
),

final AS (
    SELECT
        calendar.day,
        coalesce(per_day.articles, 0) AS articles,
        coalesce(per_day.unique_stories, 0) AS unique_stories,
        coalesce(per_day.copies, 0) AS copies,
        coalesce(per_day.outlets, 0) AS outlets,
        coalesce(per_day.languages, 0) AS languages,
        per_day.language_codes
    FROM calendar
    LEFT JOIN per_day USING (day)
)

SELECT * FROM final ORDER BY day
