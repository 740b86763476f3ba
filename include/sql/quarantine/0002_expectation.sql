-- The expectation that set a record aside, when a GX expectation (not a Python row rule) did.
ALTER TABLE quarantine.registration ADD COLUMN expectation text;
COMMENT ON COLUMN quarantine.registration.expectation IS 'GX expectation that failed on this record, e.g. expect_column_values_to_not_be_null(name) (reason_code dq_...); null when a row rule of lifecircle.ingest.registration_rules set it aside.';
ALTER TABLE quarantine.poi ADD COLUMN expectation text;
COMMENT ON COLUMN quarantine.poi.expectation IS 'GX expectation that failed on this POI (reason_code dq_...); null when a row rule of lifecircle.ingest.pois set it aside.';
ALTER TABLE quarantine.upload ADD COLUMN expectation text;
COMMENT ON COLUMN quarantine.upload.expectation IS 'GX expectation that failed on this row or form (reason_code error); null for parse and matching problems.';
