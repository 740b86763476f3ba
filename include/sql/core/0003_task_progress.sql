-- core.task_progress: what each responsible unit reported on each annex-3/4 task, per month.
-- Filled by the task-progress upload (issue 5); the report's task tracker reads it.
CREATE TABLE core.task_progress (
    task_id      text NOT NULL REFERENCES core.task (task_id),
    unit         text NOT NULL,
    period       text NOT NULL,
    status       text NOT NULL,
    progress_pct numeric(5,1),
    as_of        date NOT NULL,
    notes        text,
    PRIMARY KEY (task_id, unit, period),
    CHECK (status IN ('not_started', 'in_progress', 'completed', 'blocked')),
    CHECK (progress_pct IS NULL OR progress_pct BETWEEN 0 AND 100)
);
COMMENT ON TABLE core.task_progress IS 'Progress reports on the annex-3/4 tasks: one row per task, reporting unit and month.';
COMMENT ON COLUMN core.task_progress.task_id IS 'Task (core.task).';
COMMENT ON COLUMN core.task_progress.unit IS 'Reporting unit (a lead or cooperating unit of the task), as named in core.task.';
COMMENT ON COLUMN core.task_progress.period IS 'Reporting month YYYY-MM the report belongs to.';
COMMENT ON COLUMN core.task_progress.status IS 'not_started | in_progress | completed | blocked.';
COMMENT ON COLUMN core.task_progress.progress_pct IS 'Progress the unit reports, % (0-100); null when not stated.';
COMMENT ON COLUMN core.task_progress.as_of IS 'Date the report describes.';
COMMENT ON COLUMN core.task_progress.notes IS 'Free text the unit wrote (what was done, obstacles).';
