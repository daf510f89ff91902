-- Ingest health in one long table; filter on `kind`:
--   'reject'      rejects by stage and reason (n rejects, first_at/last_at when recorded, one example source)
--   'fetch_error' fetch-stage rejects by host and reason (same columns)
--   'source'      per source: n completed runs, last_at/last_run_id its last successful run, last_status the
--                 outcome of its latest run (any status); '(direct)' is runs given paths or URLs directly. A
--                 history backfill counts as a run of each source whose days it finished (`history_days`), so
--                 a source filled from the archives (sitemaps, Wayback Machine, CC-NEWS) shows like the others

WITH rejects_source AS (
    SELECT * FROM rejects
),

runs_source AS (
    SELECT * FROM runs
),

history_source AS (
    SELECT * FROM history_days
),

cleaned_rejects AS (
    SELECT
        stage,
        reason,
        nullif(
            regexp_replace(
                lower(regexp_extract(source_uri, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]*)', 1)),
                '^www\.',
                ''
            ),
            ''
        ) AS host,
        source_uri,
        run_id,
        "at"
    FROM rejects_source
),

direct_runs AS (
    SELECT
        coalesce(json_extract_string(parameters, '$.source_name'), '(direct)') AS source_name,
        run_id,
        status,
        started_at,
        finished_at
    FROM runs_source
),

history_runs AS (
    SELECT DISTINCT
        history_source.source_name,
        runs_source.run_id,
        runs_source.status,
        runs_source.started_at,
        runs_source.finished_at
    FROM history_source
    JOIN runs_source USING (run_id)
),

cleaned_runs AS (
    SELECT * FROM direct_runs
    UNION ALL BY NAME
    SELECT * FROM history_runs
),

source_names AS (
    SELECT DISTINCT source_name FROM cleaned_runs
    UNION
    SELECT DISTINCT source_name FROM fetches WHERE source_name IS NOT NULL
),

reject_rows AS (
    SELECT
        'reject' AS kind,
        stage,
        reason,
        NULL AS host,
        NULL AS source_name,
        count(*) AS n,
        min("at") AS first_at,
        max("at") AS last_at,
        max_by(run_id, "at") AS last_run_id,
        NULL AS last_status,
        min(source_uri) AS example
    FROM cleaned_rejects
    GROUP BY stage, reason
),

fetch_error_rows AS (
    SELECT
        'fetch_error' AS kind,
        stage,
        reason,
        coalesce(host, '(unknown)') AS host,
        NULL AS source_name,
        count(*) AS n,
        min("at") AS first_at,
        max("at") AS last_at,
        max_by(run_id, "at") AS last_run_id,
        NULL AS last_status,
        min(source_uri) AS example
    FROM cleaned_rejects
    WHERE stage = 'fetch'
    GROUP BY stage, reason, host
),

source_rows AS (
    SELECT
        'source' AS kind,
        NULL AS stage,
        NULL AS reason,
        NULL AS host,
        source_names.source_name,
        count(cleaned_runs.run_id) FILTER (WHERE cleaned_runs.status = 'completed') AS n,
        min(cleaned_runs.started_at) FILTER (WHERE cleaned_runs.status = 'completed') AS first_at,
        max(cleaned_runs.finished_at) FILTER (WHERE cleaned_runs.status = 'completed') AS last_at,
        max_by(cleaned_runs.run_id, cleaned_runs.finished_at) FILTER (WHERE cleaned_runs.status = 'completed')
            AS last_run_id,
        max_by(cleaned_runs.status, cleaned_runs.started_at) AS last_status,
        NULL AS example
    FROM source_names
    LEFT JOIN cleaned_runs USING (source_name)
    GROUP BY source_names.source_name
),

final AS (
    SELECT * FROM reject_rows
    UNION ALL BY NAME
    SELECT * FROM fetch_error_rows
    UNION ALL BY NAME
    SELECT * FROM source_rows
)

SELECT
    kind, stage, reason, host, source_name, n, first_at, last_at, last_run_id, last_status, example
FROM final
ORDER BY
    CASE kind WHEN 'reject' THEN 1 WHEN 'fetch_error' THEN 2 ELSE 3 END,
    n DESC,
    stage,
    reason,
    host,
    source_name
