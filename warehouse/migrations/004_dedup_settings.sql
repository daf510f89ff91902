-- The near-duplicate settings (and hashing version) the stored signatures, bands and pairs were computed
-- with: when they change, the next run recomputes all of them.
CREATE TABLE dedup_settings (
    fingerprint  VARCHAR NOT NULL
);
