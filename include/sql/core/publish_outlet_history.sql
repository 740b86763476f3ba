-- Rebuild core.outlet_history (SCD type 2) from every staged registration version.
-- valid_from: the establishment date for the first version, the update date after that;
-- valid_to: the next version's valid_from. Chain = known brand or >= :chain_min outlets.
-- lng/lat/geocode_level: the version's geocoded address (staging, set by the geocoding
-- step); coordinates only where the level was usable (geocode_status ok).
DELETE FROM core.outlet_history;

INSERT INTO core.outlet_history (uscc, valid_from, valid_to, name, brand, is_chain, category_code,
                                 status, is_open, community_code, address, lng, lat, geocode_level)
WITH versions AS (
    SELECT r.*,
           row_number() OVER (PARTITION BY uscc ORDER BY updated_at) AS n
    FROM staging.registration r
), dated AS (
    SELECT v.*,
           CASE WHEN n = 1 THEN least(established_date, (updated_at AT TIME ZONE 'Asia/Shanghai')::date)
                ELSE (updated_at AT TIME ZONE 'Asia/Shanghai')::date END AS valid_from
    FROM versions v
), collapsed AS (
    -- two versions on the same day: the later one holds
    SELECT DISTINCT ON (uscc, valid_from) *
    FROM dated
    ORDER BY uscc, valid_from, updated_at DESC
), brand_size AS (
    SELECT brand, count(DISTINCT uscc) AS outlets FROM staging.registration GROUP BY brand
)
SELECT c.uscc, c.valid_from,
       lead(c.valid_from) OVER (PARTITION BY c.uscc ORDER BY c.valid_from) AS valid_to,
       c.name, c.brand, (c.is_known_brand OR b.outlets >= :chain_min) AS is_chain, c.category_code,
       c.status, NOT c.is_closed AS is_open, c.community_code, c.address,
       CASE WHEN c.geocode_status = 'ok' THEN c.lng END AS lng,
       CASE WHEN c.geocode_status = 'ok' THEN c.lat END AS lat,
       c.geocode_level
FROM collapsed c JOIN brand_size b USING (brand);
