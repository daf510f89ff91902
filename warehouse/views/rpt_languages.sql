-- One row per language of the articles' text (ISO 639-1; NULL: undetected, the text too short or too mixed for
-- langdetect), with the articles in it.

WITH source AS (
    SELECT * FROM rpt_articles
),

cleaned AS (
    SELECT
        article_id,
        language
    FROM source
),

final AS (
    SELECT
        language,
        count(*) AS articles
    FROM cleaned
    GROUP BY language
)

SELECT * FROM final ORDER BY articles DESC, language NULLS LAST
