-- Task-progress reports of the period -> core.task_progress, one row per task and unit.
-- A report belongs to the period its file was first received in (a file still lying in
-- the landing area is re-registered in later periods as a duplicate; it keeps its first
-- period). When several accepted uploads of the period report the same task and unit,
-- the one received last wins: receipt order = landed_at (the file's own time), then
-- file name, then content hash — deterministic, never the run's clock.
DELETE FROM core.task_progress WHERE period = :period;

INSERT INTO core.task_progress (task_id, unit, period, status, progress_pct, as_of, notes)
WITH first_receipt AS (
    SELECT DISTINCT ON (upload_id) upload_id, period, landed_at, file_name
    FROM raw.upload_receipt
    ORDER BY upload_id, period, landed_at NULLS FIRST, file_name
)
SELECT DISTINCT ON (s.task_id, s.unit)
       s.task_id, s.unit, :period, s.status, s.progress_pct, s.as_of, s.notes
FROM staging.task_progress s
JOIN raw.upload u ON u.upload_id = s.upload_id AND u.status IN ('accepted', 'partly_accepted')
JOIN first_receipt r ON r.upload_id = s.upload_id AND r.period = :period
ORDER BY s.task_id, s.unit, r.landed_at DESC NULLS LAST, r.file_name DESC, s.upload_id DESC, s.row_no DESC;
