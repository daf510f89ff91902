-- One row of totals: articles, stories, outlets (and articles of unknown outlet), languages, copies, the coverage's
-- first and last day, and the rejected documents.

WITH source AS (
    SELECT * FROM rpt_articles
),

cleaned AS (
    SELECT
        day,
        story_key,
        outlet,
        language,
        duplicate_of IS NOT NULL AS is_copy
    FROM source
),

final AS (
    SELECT
        count(*) AS articles,
        count(DISTINCT story_key) AS stories,
        count(DISTINCT outlet) AS outlets,
        count(*) FILTER (WHERE outlet = '(unknown)') AS unknown_outlet,
        count(DISTINCT language) AS languages,
        count(*) FILTER (WHERE is_copy) AS copies,
        min(day) AS first_day,
        max(day) AS last_day,
        (SELECT count(*) FROM rejects) AS rejects
    FROM cleaned
)

SELECT * FROM final
