DROP TABLE IF EXISTS raw.geocode_cache;
