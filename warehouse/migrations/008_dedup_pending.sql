-- Duplicates and stories are updated in steps, each committed (a chunk of signatures and pairs, then the
-- canonical copies, then the stories), so the update's memory does not grow with the number of new articles.
-- This table holds a row from the first step until the last commits: a run killed in between leaves it, and
-- the next run finishes the update even when no article changed.
CREATE TABLE dedup_pending (
    since  TIMESTAMP NOT NULL
);
