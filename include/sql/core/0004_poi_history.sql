-- core.poi_history: every POI seen in any dated map harvest, with when it was first and last
-- seen and, once it is missing from a later harvest, the date of that harvest (closed_on).
-- Rebuilt in full from staging.poi at each POI publish (publish_poi_history.sql).
CREATE TABLE core.poi_history (
    poi_id        text PRIMARY KEY,
    name          text NOT NULL,
    category_code text,
    first_seen    date NOT NULL,
    last_seen     date NOT NULL,
    closed_on     date,
    lng           double precision NOT NULL,
    lat           double precision NOT NULL,
    CHECK (first_seen <= last_seen),
    CHECK (closed_on IS NULL OR closed_on > last_seen)
);
COMMENT ON TABLE core.poi_history IS 'Map POIs across all dated harvests: first and last harvest they appear in and, when absent from a later harvest, the date of the first such harvest. Never deleted; a POI that reappears is open again.';
COMMENT ON COLUMN core.poi_history.poi_id IS 'POI id (AMap id, or osm:<type>/<id>).';
COMMENT ON COLUMN core.poi_history.name IS 'Name in the latest harvest the POI appears in.';
COMMENT ON COLUMN core.poi_history.category_code IS 'Business category in that harvest; null when unmapped.';
COMMENT ON COLUMN core.poi_history.first_seen IS 'Snapshot date of the first harvest listing the POI.';
COMMENT ON COLUMN core.poi_history.last_seen IS 'Snapshot date of the latest harvest listing the POI.';
COMMENT ON COLUMN core.poi_history.closed_on IS 'Snapshot date of the first harvest after last_seen (the POI was missing from it); null while the POI is in the latest harvest.';
COMMENT ON COLUMN core.poi_history.lng IS 'Longitude, WGS-84, in the latest harvest listing the POI.';
COMMENT ON COLUMN core.poi_history.lat IS 'Latitude, WGS-84, in the latest harvest listing the POI.';

-- core.poi_registration_match: which registration (USCC) each located POI is, so an outlet
-- present in both sources is counted once. Rebuilt for a snapshot at each POI publish.
CREATE TABLE core.poi_registration_match (
    snapshot_date  date NOT NULL,
    poi_id         text NOT NULL,
    uscc           text NOT NULL,
    score          double precision NOT NULL,
    name_score     double precision NOT NULL,
    distance_m     double precision,
    same_category  boolean NOT NULL,
    PRIMARY KEY (snapshot_date, poi_id),
    UNIQUE (snapshot_date, uscc)
);
COMMENT ON TABLE core.poi_registration_match IS 'One-to-one matches of each harvest''s POIs to open registrations (lifecircle.ingest.matching.match): the same outlet seen on the map and in the registry.';
COMMENT ON COLUMN core.poi_registration_match.snapshot_date IS 'Snapshot date of the harvest.';
COMMENT ON COLUMN core.poi_registration_match.poi_id IS 'POI (staging.poi).';
COMMENT ON COLUMN core.poi_registration_match.uscc IS 'Registration matched (core.outlet_history).';
COMMENT ON COLUMN core.poi_registration_match.score IS 'Match score 0-1 (name similarity, plus distance when both sides have coordinates).';
COMMENT ON COLUMN core.poi_registration_match.name_score IS 'Similarity 0-1 of the normalised names.';
COMMENT ON COLUMN core.poi_registration_match.distance_m IS 'Distance between POI and geocoded registration, metres; null until registrations are geocoded.';
COMMENT ON COLUMN core.poi_registration_match.same_category IS 'Both sides have the same business category.';
