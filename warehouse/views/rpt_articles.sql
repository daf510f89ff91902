-- One row per article with the columns the other reports group by: its day, outlet, canonical copy and story.
-- Views are created in file-name order; this file sorts first so every other rpt_ view can read it.

WITH source AS (
    SELECT * FROM articles
),

cleaned AS (
    SELECT
        article_id,
        title,
        -- the outlet: the site's own name, else the host of its URL (lower case, without "www."), else
        -- '(unknown)' (a local file without a site name), the label every report groups such articles under
        coalesce(
            nullif(trim(site_name), ''),
            nullif(
                regexp_replace(
                    lower(regexp_extract(coalesce(url, source_uri), '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]*)', 1)),
                    '^www\.',
                    ''
                ),
                ''
            ),
            '(unknown)'
        ) AS outlet,
        language,
        word_count,
        published_at,
        first_ingested_at,
        -- when the article entered the coverage: its publication date, else when we first loaded it
        coalesce(published_at, first_ingested_at) AS seen_at,
        duplicate_of,
        coalesce(duplicate_of, article_id) AS canonical_id,
        coalesce(story_id, coalesce(duplicate_of, article_id)) AS story_key,
        coalesce(url, source_uri) AS link,
        source_uri,
        run_id
    FROM source
),

final AS (
    SELECT
        CAST(seen_at AS DATE) AS day,
        *
    FROM cleaned
)

SELECT * FROM final
