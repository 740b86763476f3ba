-- Quarantined registrations say which channel and export file they came from, so a
-- bureau can send a bad row back to whoever produced the file.
ALTER TABLE quarantine.registration ADD COLUMN source text NOT NULL DEFAULT 'api';
ALTER TABLE quarantine.registration ADD COLUMN file_name text;
COMMENT ON COLUMN quarantine.registration.source IS 'api | bulk: the channel the record came through (raw.registration.source).';
COMMENT ON COLUMN quarantine.registration.file_name IS 'Export file of a bulk record (row_no is then its row in the file); null for API records.';
