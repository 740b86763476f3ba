-- quarantine: every rejected record, kept with the reason it was rejected.
CREATE SCHEMA IF NOT EXISTS quarantine;
COMMENT ON SCHEMA quarantine IS 'Records rejected by validation, kept whole with a reason code, so nothing is lost and every exclusion is explained.';

CREATE TABLE quarantine.registration (
    load_id     text NOT NULL,
    page_no     integer NOT NULL,
    row_no      integer NOT NULL,
    reason_code text NOT NULL,
    field       text,
    message     text NOT NULL,
    record      jsonb NOT NULL,
    PRIMARY KEY (load_id, page_no, row_no, reason_code)
);
COMMENT ON TABLE quarantine.registration IS 'Registration records that failed validation (bad credit code, missing field, bad date, unknown status, duplicate).';
COMMENT ON COLUMN quarantine.registration.load_id IS 'Load that brought the record.';
COMMENT ON COLUMN quarantine.registration.page_no IS 'API page of the record.';
COMMENT ON COLUMN quarantine.registration.row_no IS 'Position within the page.';
COMMENT ON COLUMN quarantine.registration.reason_code IS 'Machine-readable reason, e.g. uscc_check_digit, missing_field, bad_date, unknown_status, duplicate.';
COMMENT ON COLUMN quarantine.registration.field IS 'Field that failed.';
COMMENT ON COLUMN quarantine.registration.message IS 'Human-readable reason naming the field and the value found.';
COMMENT ON COLUMN quarantine.registration.record IS 'The whole record as received.';

CREATE TABLE quarantine.poi (
    load_id     text NOT NULL,
    poi_id      text NOT NULL,
    seq         integer NOT NULL,
    reason_code text NOT NULL,
    field       text,
    message     text NOT NULL,
    record      jsonb NOT NULL,
    PRIMARY KEY (load_id, poi_id, seq, reason_code)
);
COMMENT ON TABLE quarantine.poi IS 'POIs that failed validation (bad location, outside the city, duplicate id).';
COMMENT ON COLUMN quarantine.poi.load_id IS 'Load that harvested the POI.';
COMMENT ON COLUMN quarantine.poi.poi_id IS 'AMap POI id (or a placeholder when missing).';
COMMENT ON COLUMN quarantine.poi.seq IS 'Sequence number to keep repeated ids apart.';
COMMENT ON COLUMN quarantine.poi.reason_code IS 'Machine-readable reason.';
COMMENT ON COLUMN quarantine.poi.field IS 'Field that failed.';
COMMENT ON COLUMN quarantine.poi.message IS 'Human-readable reason.';
COMMENT ON COLUMN quarantine.poi.record IS 'The POI as received.';

CREATE TABLE quarantine.upload (
    upload_id   text NOT NULL,
    seq         integer NOT NULL,
    location    text,
    reason_code text NOT NULL,
    message     text NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
COMMENT ON TABLE quarantine.upload IS 'Problems found in uploaded survey files, each naming sheet and cell or row and column.';
COMMENT ON COLUMN quarantine.upload.upload_id IS 'The uploaded file (raw.upload).';
COMMENT ON COLUMN quarantine.upload.seq IS 'Number of the problem within the file.';
COMMENT ON COLUMN quarantine.upload.location IS 'Sheet!cell or row/column the problem is in.';
COMMENT ON COLUMN quarantine.upload.reason_code IS 'error (row or file rejected) | warning (accepted with a note).';
COMMENT ON COLUMN quarantine.upload.message IS 'What was found and what was expected.';
