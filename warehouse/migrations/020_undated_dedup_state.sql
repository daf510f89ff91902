-- The signature and LSH bands of an undated article carry the date 'infinity' instead of NULL. A candidate query
-- reads the signatures and bands within its chunk's copy window and the undated ones; `published_at IS NULL` is
-- never skipped by DuckDB's row group statistics (a range is), so that part read every stored band: 64 million rows
-- at 1,000,000 articles, 2.3 s of a 3.5 s query. `published_at = 'infinity'` is a range: the row groups without an
-- undated article are skipped.
UPDATE dedup_signatures SET published_at = 'infinity'::TIMESTAMP WHERE published_at IS NULL;
UPDATE dedup_bands SET published_at = 'infinity'::TIMESTAMP WHERE published_at IS NULL;
