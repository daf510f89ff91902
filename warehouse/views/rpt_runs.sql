-- Run history, newest first, with each run's duration and counts.

WITH source AS (
    SELECT * FROM runs
),

cleaned AS (
    SELECT
        run_id,
        flow_name,
        json_extract_string(parameters, '$.source_name') AS source_name,
        status,
        started_at,
        finished_at,
        round(date_diff('millisecond', started_at, finished_at) / 1000, 3) AS duration_seconds,
        seen,
        loaded,
        updated,
        unchanged,
        duplicates,
        rejected
    FROM source
),

final AS (
    SELECT * FROM cleaned
)

SELECT * FROM final ORDER BY started_at DESC, run_id
