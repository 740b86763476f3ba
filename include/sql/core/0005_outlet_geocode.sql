-- Registered outlets get the coordinates of their geocoded address (issue 3).
ALTER TABLE core.outlet_history
    ADD COLUMN lng double precision,
    ADD COLUMN lat double precision,
    ADD COLUMN geocode_level text;
COMMENT ON COLUMN core.outlet_history.lng IS 'Longitude, WGS-84, of the registered address; null when it was not found or too coarse (see quarantine.registration geocode_* reasons).';
COMMENT ON COLUMN core.outlet_history.lat IS 'Latitude, WGS-84; null as lng.';
COMMENT ON COLUMN core.outlet_history.geocode_level IS 'AMap match level of the address (门牌号, 道路, 区县, ...), kept also when too coarse to use; null when not found or not geocoded.';
