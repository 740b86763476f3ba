-- raw: data exactly as received from each source, with load metadata. Never edited.
CREATE SCHEMA IF NOT EXISTS raw;
COMMENT ON SCHEMA raw IS 'Data exactly as received from each source (API pages, map POIs, uploaded files), with load metadata. Never edited after landing.';

CREATE TABLE raw.load (
    load_id          text PRIMARY KEY,
    source           text NOT NULL,
    period           text NOT NULL,
    as_of            date NOT NULL,
    status           text NOT NULL,
    checkpoint       jsonb NOT NULL DEFAULT '{}'::jsonb,
    rows_received    integer NOT NULL DEFAULT 0,
    rows_accepted    integer NOT NULL DEFAULT 0,
    rows_quarantined integer NOT NULL DEFAULT 0,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb
);
COMMENT ON TABLE raw.load IS 'One row per source and reporting period: the load''s status, its resume checkpoint and its counts. Freshness checks read it.';
COMMENT ON COLUMN raw.load.load_id IS 'Deterministic id <source>:<period>, so re-running a period replaces its own load.';
COMMENT ON COLUMN raw.load.source IS 'registrations | pois | uploads.';
COMMENT ON COLUMN raw.load.period IS 'Reporting month YYYY-MM the load belongs to.';
COMMENT ON COLUMN raw.load.as_of IS 'Date the data describes (last day of the period).';
COMMENT ON COLUMN raw.load.status IS 'running | succeeded | failed | stopped_by_quota.';
COMMENT ON COLUMN raw.load.checkpoint IS 'Resume state: last finished API page, finished map cells.';
COMMENT ON COLUMN raw.load.rows_received IS 'Records received from the source in this load.';
COMMENT ON COLUMN raw.load.rows_accepted IS 'Records that passed validation and reached staging.';
COMMENT ON COLUMN raw.load.rows_quarantined IS 'Records set aside in the quarantine layer, with their reasons.';
COMMENT ON COLUMN raw.load.details IS 'Further per-run figures (pages, cells, unmapped categories, ...).';

CREATE TABLE raw.registration (
    load_id          text NOT NULL,
    page_no          integer NOT NULL,
    row_no           integer NOT NULL,
    uscc             text,
    name             text,
    address          text,
    industry_code    text,
    business_scope   text,
    established_date text,
    status           text,
    approved_date    text,
    updated_at       text,
    district_adcode  text,
    PRIMARY KEY (load_id, page_no, row_no)
);
COMMENT ON TABLE raw.registration IS 'Market-regulation registrations (市场主体登记) as received from the registry API, one row per record version, all fields as text.';
COMMENT ON COLUMN raw.registration.load_id IS 'The load (raw.load) that brought the record.';
COMMENT ON COLUMN raw.registration.page_no IS 'API page the record came on.';
COMMENT ON COLUMN raw.registration.row_no IS 'Position of the record within its page.';
COMMENT ON COLUMN raw.registration.uscc IS '统一社会信用代码 as sent (not yet validated).';
COMMENT ON COLUMN raw.registration.name IS '企业名称 / 名称.';
COMMENT ON COLUMN raw.registration.address IS '住所 / 经营场所.';
COMMENT ON COLUMN raw.registration.industry_code IS '行业代码 (GB/T 4754-2017) as sent.';
COMMENT ON COLUMN raw.registration.business_scope IS '经营范围.';
COMMENT ON COLUMN raw.registration.established_date IS '成立日期 as sent.';
COMMENT ON COLUMN raw.registration.status IS '登记状态 as sent (存续, 注销, ...).';
COMMENT ON COLUMN raw.registration.approved_date IS '核准日期 as sent.';
COMMENT ON COLUMN raw.registration.updated_at IS 'Registry update time of this record version (the incremental watermark).';
COMMENT ON COLUMN raw.registration.district_adcode IS 'District code the registry files the record under.';

CREATE TABLE raw.poi (
    load_id  text NOT NULL,
    cell_id  text NOT NULL,
    seq      integer NOT NULL,
    poi_id   text,
    name     text,
    type     text,
    typecode text,
    address  text,
    location text,
    adcode   text,
    adname   text,
    tel      text,
    PRIMARY KEY (load_id, cell_id, seq)
);
COMMENT ON TABLE raw.poi IS 'AMap POIs as returned by the place search of each harvested map cell (GCJ-02 coordinates).';
COMMENT ON COLUMN raw.poi.load_id IS 'The load (raw.load) that harvested the POI.';
COMMENT ON COLUMN raw.poi.cell_id IS 'Map cell whose search returned the POI.';
COMMENT ON COLUMN raw.poi.seq IS 'Position within the cell''s results.';
COMMENT ON COLUMN raw.poi.poi_id IS 'AMap POI id.';
COMMENT ON COLUMN raw.poi.name IS 'POI name.';
COMMENT ON COLUMN raw.poi.type IS 'AMap type path in Chinese.';
COMMENT ON COLUMN raw.poi.typecode IS 'AMap typecode(s), several joined by |.';
COMMENT ON COLUMN raw.poi.address IS 'Address as AMap gives it.';
COMMENT ON COLUMN raw.poi.location IS '"lng,lat" in GCJ-02, as AMap gives it.';
COMMENT ON COLUMN raw.poi.adcode IS 'District code AMap gives.';
COMMENT ON COLUMN raw.poi.adname IS 'District name AMap gives.';
COMMENT ON COLUMN raw.poi.tel IS 'Telephone as AMap gives it.';

CREATE TABLE raw.upload (
    upload_id   text PRIMARY KEY,
    file_name   text NOT NULL,
    kind        text NOT NULL,
    size_bytes  bigint NOT NULL,
    stored_path text NOT NULL,
    period      text NOT NULL,
    status      text NOT NULL,
    reasons     jsonb NOT NULL DEFAULT '[]'::jsonb,
    rows_accepted integer NOT NULL DEFAULT 0,
    rows_rejected integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE raw.upload IS 'Every uploaded survey file, once per content: where it is kept and what became of it.';
COMMENT ON COLUMN raw.upload.upload_id IS 'SHA-256 of the file content; the same file uploaded twice has one row.';
COMMENT ON COLUMN raw.upload.file_name IS 'Name the file arrived under (first time seen).';
COMMENT ON COLUMN raw.upload.kind IS 'annex5 (circle survey form) | satisfaction (resident responses) | unknown.';
COMMENT ON COLUMN raw.upload.size_bytes IS 'File size in bytes.';
COMMENT ON COLUMN raw.upload.stored_path IS 'Immutable copy of the file in the upload store, relative to the store root.';
COMMENT ON COLUMN raw.upload.period IS 'Reporting month the file was first received in.';
COMMENT ON COLUMN raw.upload.status IS 'accepted | partly_accepted | rejected.';
COMMENT ON COLUMN raw.upload.reasons IS 'Every reason for rejection or partial acceptance, each naming sheet/cell or row/column.';
COMMENT ON COLUMN raw.upload.rows_accepted IS 'Rows (categories or respondents) that reached staging.';
COMMENT ON COLUMN raw.upload.rows_rejected IS 'Rows set aside in quarantine.upload.';

CREATE TABLE raw.upload_receipt (
    period     text NOT NULL,
    file_name  text NOT NULL,
    upload_id  text NOT NULL REFERENCES raw.upload (upload_id),
    duplicate  boolean NOT NULL,
    PRIMARY KEY (period, file_name)
);
COMMENT ON TABLE raw.upload_receipt IS 'Each file seen in the landing area per period; duplicate uploads (same content as an earlier file) are recognised here.';
COMMENT ON COLUMN raw.upload_receipt.period IS 'Reporting month of the run that saw the file.';
COMMENT ON COLUMN raw.upload_receipt.file_name IS 'File name in the landing area.';
COMMENT ON COLUMN raw.upload_receipt.upload_id IS 'Content hash, see raw.upload.';
COMMENT ON COLUMN raw.upload_receipt.duplicate IS 'True when the same content had already arrived under another name or earlier period.';
