-- Registrations from two channels (registry API pages and bulk CSV/XLSX exports), landed
-- as Parquet before the COPY into raw.registration.
ALTER TABLE raw.registration ADD COLUMN source text NOT NULL DEFAULT 'api';
ALTER TABLE raw.registration ADD CONSTRAINT registration_source_check CHECK (source IN ('api', 'bulk'));
ALTER TABLE raw.registration ADD COLUMN file_name text;
ALTER TABLE raw.registration ADD COLUMN file_hash text;
COMMENT ON COLUMN raw.registration.source IS 'Channel the record came through: api (registry data-sharing API) or bulk (CSV/XLSX export file).';
COMMENT ON COLUMN raw.registration.file_name IS 'Export file the record came in (bulk rows); null for API rows.';
COMMENT ON COLUMN raw.registration.file_hash IS 'SHA-256 of the export file (bulk rows, see raw.registration_file); null for API rows.';
COMMENT ON COLUMN raw.registration.page_no IS 'API page the record came on; for bulk rows the negative ordinal of the export file within the load (-1, -2, ...), so API and bulk rows never share a key.';
COMMENT ON COLUMN raw.registration.row_no IS 'Position of the record within its API page (from 0); for bulk rows the row number in the file as a spreadsheet shows it (the header row counts).';

CREATE TABLE raw.registration_file (
    load_id      text NOT NULL,
    file_hash    text NOT NULL,
    file_name    text NOT NULL,
    page_no      integer NOT NULL,
    format       text NOT NULL,
    encoding     text,
    status       text NOT NULL,
    rows         integer NOT NULL DEFAULT 0,
    message      text,
    columns      jsonb NOT NULL DEFAULT '{}'::jsonb,
    landing_file text,
    PRIMARY KEY (load_id, file_hash),
    CHECK (status IN ('landed', 'rejected'))
);
COMMENT ON TABLE raw.registration_file IS 'Every registration export file (CSV/XLSX) a load read: landed or rejected with the reason. A file whose content hash was landed by another load is skipped as already imported.';
COMMENT ON COLUMN raw.registration_file.load_id IS 'The load (raw.load) that read the file.';
COMMENT ON COLUMN raw.registration_file.file_hash IS 'SHA-256 of the file content: the identity of an export (renaming a file does not make it new).';
COMMENT ON COLUMN raw.registration_file.file_name IS 'File name in the exports folder when it was read.';
COMMENT ON COLUMN raw.registration_file.page_no IS 'page_no its rows carry in raw.registration (negative ordinal within the load).';
COMMENT ON COLUMN raw.registration_file.format IS 'csv | xlsx.';
COMMENT ON COLUMN raw.registration_file.encoding IS 'Text encoding the CSV was decoded with (utf-8-sig, gb18030); null for XLSX.';
COMMENT ON COLUMN raw.registration_file.status IS 'landed (rows in raw.registration) | rejected (no row taken; see message).';
COMMENT ON COLUMN raw.registration_file.rows IS 'Data rows landed from the file.';
COMMENT ON COLUMN raw.registration_file.message IS 'Why the file was rejected, naming the file, the missing fields and the headers found; null when landed.';
COMMENT ON COLUMN raw.registration_file.columns IS 'How the file''s headers were read: {"mapped": {header: field}, "unmapped": [headers], "header_row": n}.';
COMMENT ON COLUMN raw.registration_file.landing_file IS 'Parquet file of the landed rows, relative to the raw landing folder.';
