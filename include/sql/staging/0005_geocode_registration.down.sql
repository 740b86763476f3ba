ALTER TABLE staging.registration
    DROP COLUMN IF EXISTS address_norm,
    DROP COLUMN IF EXISTS lng,
    DROP COLUMN IF EXISTS lat,
    DROP COLUMN IF EXISTS geocode_level,
    DROP COLUMN IF EXISTS geocode_status;
