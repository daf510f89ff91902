-- The page's UTC offset next to the UTC instant (a page dated 22:46-03:00 is published on the local day
-- before its UTC date), and how many undecodable bytes were replaced when a mostly-UTF-8 page was read.
ALTER TABLE articles ADD COLUMN published_utc_offset INTEGER;  -- minutes east of UTC; NULL when not given
ALTER TABLE articles ADD COLUMN replaced_bytes INTEGER;        -- bytes read as U+FFFD; 0 for clean input
