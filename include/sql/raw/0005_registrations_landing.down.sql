DROP TABLE raw.registration_file;
-- Bulk rows cannot be told apart once the columns are gone: remove them first.
DELETE FROM raw.registration WHERE source = 'bulk';
ALTER TABLE raw.registration DROP COLUMN file_hash;
ALTER TABLE raw.registration DROP COLUMN file_name;
ALTER TABLE raw.registration DROP COLUMN source;
COMMENT ON COLUMN raw.registration.page_no IS 'API page the record came on.';
COMMENT ON COLUMN raw.registration.row_no IS 'Position of the record within its page.';
