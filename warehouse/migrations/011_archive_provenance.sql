-- Where a response came from when it was not fetched live: the archive, the record in it, and its date.
-- NULL for live fetches. archive: 'warc' (a local WARC file; later 'wayback', 'ccnews'); archive_uri: the WARC
-- file (file://) or the snapshot's URL; archive_record_id: WARC-Record-ID; archive_offset: the record's byte
-- offset in the file; archived_at: WARC-Date or the snapshot's time (UTC), also the fetch's fetched_at.
ALTER TABLE fetches ADD COLUMN archive VARCHAR;
ALTER TABLE fetches ADD COLUMN archive_uri VARCHAR;
ALTER TABLE fetches ADD COLUMN archive_record_id VARCHAR;
ALTER TABLE fetches ADD COLUMN archive_offset BIGINT;
ALTER TABLE fetches ADD COLUMN archived_at TIMESTAMP;
