-- The data checks (warehouse/checks/*.sql) each flow runs at its end: failing check name -> offending rows.
-- '{}' when every check passed; NULL for runs that did not get that far (or ran before this migration).
ALTER TABLE runs ADD COLUMN failed_checks JSON;
