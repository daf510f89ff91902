-- The run that first matched each (monitor, article), and when: a match is new in that run only, so the run's
-- `mediamon.monitor.matched` events (docs/alerts.md) announce it once, and re-runs, re-extractions and edited
-- monitors that match it again stay quiet. Rows outlive their match (a monitor removed and added again announces
-- nothing it announced before). No PRIMARY KEY, as for articles (migration 005): the single writer inserts a pair
-- only when it is absent, and warehouse/checks/monitor_first_matches_unique.sql checks it.
CREATE TABLE monitor_first_matches (
    monitor     VARCHAR NOT NULL,
    article_id  VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,    -- the run whose monitor step first matched it
    matched_at  TIMESTAMP NOT NULL   -- when (UTC); matches older than this table: the article's first load
);

INSERT INTO monitor_first_matches
SELECT m.monitor, m.article_id, a.run_id, a.first_ingested_at
FROM monitor_matches m
JOIN articles a USING (article_id);
