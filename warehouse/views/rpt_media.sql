-- One row per media item (a video, a post) embedded or cited by the articles: how many articles and outlets
-- carried it, in which languages, when it first and last appeared, and how many hours it kept spreading.
-- `embeds` counts articles with a player or embed of it, `links` those citing it in their text, `og` those naming
-- it only in their metadata. first_outlet is the outlet of the earliest article (ties broken by article id).

WITH source AS (
    SELECT m.platform, m.media_id, m.url, m.kind, a.article_id, a.outlet, a.language, a.seen_at, a.story_key
    FROM article_media m
    JOIN rpt_articles a USING (article_id)
),

cleaned AS (
    SELECT
        platform || ':' || media_id AS media,
        platform,
        media_id,
        url,
        kind,
        article_id,
        outlet,
        nullif(outlet, '(unknown)') AS known_outlet,
        language,
        seen_at,
        story_key
    FROM source
),

final AS (
    SELECT
        media,
        platform,
        media_id,
        count(DISTINCT article_id) AS articles,
        count(DISTINCT known_outlet) AS outlets,
        count(DISTINCT language) AS languages,
        string_agg(DISTINCT language, ', ' ORDER BY language) AS language_codes,
        count(DISTINCT article_id) FILTER (kind = 'embed') AS embeds,
        count(DISTINCT article_id) FILTER (kind = 'link') AS links,
        count(DISTINCT article_id) FILTER (kind = 'og') AS og,
        count(DISTINCT story_key) AS stories,
        min(seen_at) AS first_seen,
        max(seen_at) AS last_seen,
        round(date_diff('second', min(seen_at), max(seen_at)) / 3600.0, 1) AS hours_first_to_last,
        arg_min(outlet, (seen_at, article_id)) AS first_outlet,
        string_agg(DISTINCT known_outlet, ', ' ORDER BY known_outlet) AS outlet_names,
        min(url) AS example_url
    FROM cleaned
    GROUP BY media, platform, media_id
)

SELECT * FROM final ORDER BY articles DESC, outlets DESC, first_seen, media
