-- Rebuild core.outlet_history (SCD type 2) from every staged registration version.
-- valid_from: the establishment date for the first version, the update date after that;
-- valid_to: the next version's valid_from. Two versions on the same day: the later one
-- holds. Chain = known brand or >= :chain_min outlets.
-- lng/lat/geocode_level: the version's geocoded address (staging, set by the geocoding
-- step); coordinates only where the level was usable (geocode_status ok).
--
-- One sort of the (narrow) versions by (uscc, updated_at) does it all: valid_from never
-- decreases along that order (the first version's is at most its own day), so a
-- version is superseded on its day exactly when the next version's day equals its
-- valid_from, and a kept version's valid_to is the next version's day. (DISTINCT ON +
-- a second window sorted a million wide rows three times.) Brand sizes come from a
-- hash aggregate over distinct (brand, uscc) instead of a sorting count(DISTINCT).
DELETE FROM core.outlet_history;

INSERT INTO core.outlet_history (uscc, valid_from, valid_to, name, brand, is_chain, category_code,
                                 status, is_open, community_code, address, lng, lat, geocode_level)
WITH versions AS (
    SELECT uscc, established_date, name, brand, is_known_brand, category_code, status, is_closed,
           community_code, address, geocode_status, lng, lat, geocode_level,
           (updated_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
           row_number() OVER w AS n,
           lead((updated_at AT TIME ZONE 'Asia/Shanghai')::date) OVER w AS next_day
    FROM staging.registration
    WINDOW w AS (PARTITION BY uscc COLLATE "C" ORDER BY updated_at)
), dated AS (
    SELECT v.*, CASE WHEN n = 1 THEN least(established_date, day) ELSE day END AS valid_from
    FROM versions v
), brand_size AS (
    SELECT brand, count(*) AS outlets
    FROM (SELECT DISTINCT brand, uscc FROM staging.registration) AS outlet_brand
    GROUP BY brand
)
SELECT c.uscc, c.valid_from, c.next_day AS valid_to,
       c.name, c.brand, (c.is_known_brand OR b.outlets >= :chain_min) AS is_chain, c.category_code,
       c.status, NOT c.is_closed AS is_open, c.community_code, c.address,
       CASE WHEN c.geocode_status = 'ok' THEN c.lng END AS lng,
       CASE WHEN c.geocode_status = 'ok' THEN c.lat END AS lat,
       c.geocode_level
FROM dated c JOIN brand_size b USING (brand)
WHERE c.next_day IS NULL OR c.next_day > c.valid_from;
