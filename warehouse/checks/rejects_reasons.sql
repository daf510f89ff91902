-- Reject rows carry a known stage and a short snake_case reason code.
SELECT source_uri, stage, reason FROM rejects
WHERE stage NOT IN ('read', 'fetch', 'extract', 'load')
   OR NOT regexp_full_match(reason, '[a-z][a-z0-9_]{1,40}')
