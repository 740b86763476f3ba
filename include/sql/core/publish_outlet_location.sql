-- Publish one harvest's categorised POIs as located outlets (uncategorised ones stay in staging).
DELETE FROM core.outlet_location WHERE snapshot_date = :snapshot_date;

INSERT INTO core.outlet_location (snapshot_date, poi_id, name, category_code, lng, lat, community_code)
SELECT snapshot_date, poi_id, name, category_code, lng, lat, community_code
FROM staging.poi
WHERE snapshot_date = :snapshot_date AND category_code IS NOT NULL;
