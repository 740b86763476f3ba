-- Coordinates of each registration version's address, set by the geocoding step
-- (lifecircle.ingest.geocoding) between validate and publish.
ALTER TABLE staging.registration
    ADD COLUMN address_norm text,
    ADD COLUMN lng double precision,
    ADD COLUMN lat double precision,
    ADD COLUMN geocode_level text,
    ADD COLUMN geocode_status text;
COMMENT ON COLUMN staging.registration.address_norm IS 'Normalised address, the key into raw.geocode_cache; null until geocoded.';
COMMENT ON COLUMN staging.registration.lng IS 'Longitude, WGS-84, of the geocoded address; null unless geocode_status = ok.';
COMMENT ON COLUMN staging.registration.lat IS 'Latitude, WGS-84; null unless geocode_status = ok.';
COMMENT ON COLUMN staging.registration.geocode_level IS 'AMap match level of the address (门牌号, 兴趣点, 道路, 区县, ...); null when not found.';
COMMENT ON COLUMN staging.registration.geocode_status IS 'ok | too_coarse (level below city.yaml geocoding.min_usable_level) | not_found | empty_address; null when the step did not run (amap_api not configured).';
