-- Required columns are filled, and text is never blank.
SELECT article_id FROM articles
WHERE source_uri IS NULL OR text IS NULL OR trim(text) = '' OR content_hash IS NULL
   OR word_count IS NULL OR word_count <= 0 OR ingested_at IS NULL
