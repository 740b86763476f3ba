-- Survey uploads from a landing folder or an S3-compatible bucket (issue 5): where each
-- received file was found, which version of it, and when it landed (the file's own time,
-- used to order reports received in one period; never the pipeline's clock).
ALTER TABLE raw.upload_receipt ADD COLUMN landing_uri text;
ALTER TABLE raw.upload_receipt ADD COLUMN landing_version text;
ALTER TABLE raw.upload_receipt ADD COLUMN landed_at timestamptz;
COMMENT ON COLUMN raw.upload_receipt.landing_uri IS 'Where the file was found: file:///… (landing folder) or s3://bucket/prefix/name (bucket). Null for receipts before revision 0005.';
COMMENT ON COLUMN raw.upload_receipt.landing_version IS 'Version of the landed file: "size:mtime_ns" (folder) or the object ETag (bucket); a new version under the same name is picked up again.';
COMMENT ON COLUMN raw.upload_receipt.landed_at IS 'When the file landed: its modification time (folder) or LastModified (bucket). Orders the uploads of one period (later replaces earlier).';
COMMENT ON COLUMN raw.upload.kind IS 'annex5 (circle survey form) | satisfaction (resident responses) | task_progress (annex-3/4 task progress report) | unknown; read from the content (titles, headers), else the file suffix.';
COMMENT ON COLUMN raw.upload.status IS 'accepted | partly_accepted | rejected (received while being processed).';
