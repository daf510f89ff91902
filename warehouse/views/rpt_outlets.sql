-- One row per outlet: how much it published, when, and its share of all articles.
-- Articles whose outlet is unknown (a local file without a site name) are grouped as '(unknown)' (rpt_articles).

WITH source AS (
    SELECT * FROM rpt_articles
),

cleaned AS (
    SELECT
        outlet,
        article_id,
        story_key,
        language,
        seen_at,
        duplicate_of IS NOT NULL AS is_copy
    FROM source
),

final AS (
    SELECT
        outlet,
        count(*) AS articles,
        count(DISTINCT story_key) AS unique_stories,
        count(*) FILTER (WHERE NOT is_copy) AS originals,
        count(*) FILTER (WHERE is_copy) AS copies,
        string_agg(DISTINCT language, ', ' ORDER BY language) AS language_codes,
        min(seen_at) AS first_seen,
        max(seen_at) AS last_seen,
        round(count(*) / sum(count(*)) OVER (), 4) AS share_of_articles
    FROM cleaned
    GROUP BY outlet
)

SELECT * FROM final ORDER BY articles DESC, outlet
