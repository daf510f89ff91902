-- A history backfill's progress: each (source, day, archive) whose articles were found and loaded. A re-run of the
-- range, or the next run after one was killed, skips these unless forced. `found`: the articles (and rejects) the
-- day's lookup gave; `run_id`: the backfill run that finished it last.
CREATE TABLE IF NOT EXISTS history_days (
    source_name VARCHAR NOT NULL,
    day DATE NOT NULL,
    archive VARCHAR NOT NULL,
    found INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_name, day, archive)
);
