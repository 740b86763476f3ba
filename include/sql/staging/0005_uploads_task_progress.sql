-- Task-progress reports (annex-3/4 tasks) as parsed from each accepted upload (issue 5);
-- published per period into core.task_progress by include/sql/core/publish_task_progress.sql.
CREATE TABLE staging.task_progress (
    upload_id    text NOT NULL,
    row_no       integer NOT NULL,
    task_id      text NOT NULL,
    unit         text NOT NULL,
    status       text NOT NULL,
    progress_pct numeric(5,1),
    as_of        date NOT NULL,
    notes        text,
    PRIMARY KEY (upload_id, row_no)
);
COMMENT ON TABLE staging.task_progress IS 'One row per task and reporting unit of each accepted task-progress upload; rows that could not be trusted are in quarantine.upload.';
COMMENT ON COLUMN staging.task_progress.upload_id IS 'The uploaded report (raw.upload).';
COMMENT ON COLUMN staging.task_progress.row_no IS 'Number of the usable row within the file (1, 2, ... in table order).';
COMMENT ON COLUMN staging.task_progress.task_id IS 'Annex-3/4 task id (A3-nn / A4-nn) as in tasks.csv.';
COMMENT ON COLUMN staging.task_progress.unit IS 'Reporting unit, as named in units.csv.';
COMMENT ON COLUMN staging.task_progress.status IS 'not_started | in_progress | completed | blocked.';
COMMENT ON COLUMN staging.task_progress.progress_pct IS 'Progress the unit reports, % (0-100); null when not stated.';
COMMENT ON COLUMN staging.task_progress.as_of IS 'Date the report describes (截至日期).';
COMMENT ON COLUMN staging.task_progress.notes IS 'Free text the unit wrote; formulas kept as text, never evaluated.';
