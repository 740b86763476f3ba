-- Persistent geocoding cache (issue 3): one AMap answer per city and normalised address,
-- so an address is asked once, ever; re-runs and later months read it instead of the API.
CREATE TABLE raw.geocode_cache (
    city_code         text NOT NULL,
    address_norm      text NOT NULL,
    query_address     text NOT NULL,
    provider          text NOT NULL,
    found             boolean NOT NULL,
    level             text,
    lng_gcj           double precision,
    lat_gcj           double precision,
    lng               double precision,
    lat               double precision,
    formatted_address text,
    adcode            text,
    response          jsonb,
    first_load_id     text NOT NULL,
    PRIMARY KEY (city_code, address_norm)
);
COMMENT ON TABLE raw.geocode_cache IS 'Geocoding answers per normalised address (lifecircle.ingest.geocoding): the API is only asked for addresses missing here. Delete a row to have it asked again.';
COMMENT ON COLUMN raw.geocode_cache.city_code IS 'City the address was geocoded in (city.yaml city_code; the request restricts the search to it).';
COMMENT ON COLUMN raw.geocode_cache.address_norm IS 'Normalised address: NFKC, whitespace removed, the city''s province/city prefixes removed (lifecircle.sources.amap_geocode.normalise_address).';
COMMENT ON COLUMN raw.geocode_cache.query_address IS 'Address text sent to the geocoder.';
COMMENT ON COLUMN raw.geocode_cache.provider IS 'Geocoder that answered (amap).';
COMMENT ON COLUMN raw.geocode_cache.found IS 'False when the geocoder found nothing (count 0): cached too, so it is not asked again every month.';
COMMENT ON COLUMN raw.geocode_cache.level IS 'AMap match level (门牌号, 兴趣点, 道路, 区县, ...); how precise the point is.';
COMMENT ON COLUMN raw.geocode_cache.lng_gcj IS 'Longitude as AMap gave it (GCJ-02).';
COMMENT ON COLUMN raw.geocode_cache.lat_gcj IS 'Latitude as AMap gave it (GCJ-02).';
COMMENT ON COLUMN raw.geocode_cache.lng IS 'Longitude, WGS-84 (GCJ-02 inverted by lifecircle.geo.gcj02, to about 1 cm).';
COMMENT ON COLUMN raw.geocode_cache.lat IS 'Latitude, WGS-84.';
COMMENT ON COLUMN raw.geocode_cache.formatted_address IS 'The address as the geocoder understood it.';
COMMENT ON COLUMN raw.geocode_cache.adcode IS 'District code the geocoder placed the address in.';
COMMENT ON COLUMN raw.geocode_cache.response IS 'The geocode entry as received (null when not found).';
COMMENT ON COLUMN raw.geocode_cache.first_load_id IS 'Load whose geocoding step asked for this address first.';
