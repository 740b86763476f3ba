-- When each response was submitted, so a month's satisfaction counts only the responses
-- submitted by its end — also when an old month is re-run after later files arrived.
ALTER TABLE staging.satisfaction_response ADD COLUMN submitted_at timestamp;
COMMENT ON COLUMN staging.satisfaction_response.submitted_at IS 'Submission time as the survey platform exports it (local time, Asia/Shanghai); null when the export has none.';
