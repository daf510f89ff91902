-- One row per story (story_id where story clustering set one, else the canonical copy: rpt_articles.story_key),
-- with the articles that carried it, original and picked up, its outlets, its span, and a label: the first-seen
-- titled original, else the start of the first article's text.

WITH source AS (
    SELECT * FROM rpt_articles
),

cleaned AS (
    SELECT
        story_key,
        article_id,
        outlet,
        title,
        seen_at,
        duplicate_of IS NOT NULL AS is_copy
    FROM source
),

stories AS (
    SELECT
        story_key,
        count(*) AS articles,
        count(*) FILTER (WHERE NOT is_copy) AS originals,
        count(*) FILTER (WHERE is_copy) AS pickups,
        count(DISTINCT outlet) AS outlets,
        string_agg(DISTINCT outlet, ', ' ORDER BY outlet) AS outlet_names,
        min(seen_at) AS first_seen,
        max(seen_at) AS last_seen,
        first(title ORDER BY seen_at, article_id) FILTER (WHERE title IS NOT NULL AND NOT is_copy) AS headline,
        first(article_id ORDER BY seen_at, article_id) AS first_article
    FROM cleaned
    GROUP BY story_key
),

final AS (
    SELECT
        coalesce(s.headline, left(a.text, 80) || '…') AS label,
        s.*
    FROM stories s
    JOIN articles a ON a.article_id = s.first_article
)

SELECT * FROM final ORDER BY articles DESC, pickups DESC, first_seen, story_key
