ALTER TABLE core.outlet_history
    DROP COLUMN IF EXISTS lng,
    DROP COLUMN IF EXISTS lat,
    DROP COLUMN IF EXISTS geocode_level;
