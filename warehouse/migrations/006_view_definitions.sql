-- The fingerprint of the view files the stored rpt_ views were created from: a writer recreates the views
-- only when the files changed, instead of at every open (30 ms a batch on a file, and on a DuckLake catalog a
-- snapshot per writer that concurrent writers would conflict on).
CREATE TABLE view_definitions (
    fingerprint  VARCHAR NOT NULL
);
