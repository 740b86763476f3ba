DROP TABLE IF EXISTS core.poi_registration_match;
DROP TABLE IF EXISTS core.poi_history;
