-- Syndication reach: each canonical article (not a copy) with its pickups, the articles marked as its copies.
-- pickup_outlets counts the known outlets among the pickups. first_seen / last_seen span the original and every
-- pickup: how long the piece kept travelling.

WITH source AS (
    SELECT * FROM rpt_articles
),

cleaned AS (
    SELECT
        article_id,
        title,
        outlet,
        nullif(outlet, '(unknown)') AS known_outlet,
        seen_at,
        duplicate_of,
        link
    FROM source
),

canonicals AS (
    SELECT * FROM cleaned WHERE duplicate_of IS NULL
),

pickups AS (
    SELECT * FROM cleaned WHERE duplicate_of IS NOT NULL
),

final AS (
    SELECT
        canonicals.article_id,
        canonicals.title,
        canonicals.outlet,
        canonicals.seen_at,
        count(pickups.article_id) AS pickups,
        count(DISTINCT pickups.known_outlet) AS pickup_outlets,
        string_agg(DISTINCT pickups.known_outlet, ', ' ORDER BY pickups.known_outlet) AS pickup_outlet_names,
        least(canonicals.seen_at, min(pickups.seen_at)) AS first_seen,
        greatest(canonicals.seen_at, max(pickups.seen_at)) AS last_seen,
        canonicals.link
    FROM canonicals
    LEFT JOIN pickups ON pickups.duplicate_of = canonicals.article_id
    GROUP BY canonicals.article_id, canonicals.title, canonicals.outlet, canonicals.seen_at, canonicals.link
)

SELECT * FROM final ORDER BY pickups DESC, pickup_outlets DESC, first_seen, article_id
