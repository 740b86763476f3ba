ALTER TABLE raw.upload_receipt DROP COLUMN IF EXISTS landed_at;
ALTER TABLE raw.upload_receipt DROP COLUMN IF EXISTS landing_version;
ALTER TABLE raw.upload_receipt DROP COLUMN IF EXISTS landing_uri;
COMMENT ON COLUMN raw.upload.kind IS 'annex5 (circle survey form) | satisfaction (resident responses) | unknown.';
COMMENT ON COLUMN raw.upload.status IS 'accepted | partly_accepted | rejected.';
