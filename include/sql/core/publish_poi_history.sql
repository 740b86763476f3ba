-- Rebuild core.poi_history from every staged harvest (staging.poi, one snapshot per month).
-- A full rebuild is deterministic whatever order months are (re)published in: a POI's
-- closed_on is the first snapshot after the last one listing it; if it reappears later,
-- last_seen moves on and closed_on is null again (or the first snapshot after that).
DELETE FROM core.poi_history;

INSERT INTO core.poi_history (poi_id, name, category_code, first_seen, last_seen, closed_on, lng, lat)
WITH snapshots AS (
    SELECT DISTINCT snapshot_date FROM staging.poi
), seen AS (
    SELECT poi_id, min(snapshot_date) AS first_seen, max(snapshot_date) AS last_seen
    FROM staging.poi GROUP BY poi_id
), latest AS (
    SELECT DISTINCT ON (poi_id) poi_id, name, category_code, lng, lat
    FROM staging.poi
    ORDER BY poi_id, snapshot_date DESC
)
SELECT s.poi_id, l.name, l.category_code, s.first_seen, s.last_seen,
       (SELECT min(n.snapshot_date) FROM snapshots n WHERE n.snapshot_date > s.last_seen) AS closed_on,
       l.lng, l.lat
FROM seen s JOIN latest l USING (poi_id);
