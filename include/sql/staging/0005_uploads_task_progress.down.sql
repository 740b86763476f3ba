DROP TABLE IF EXISTS staging.task_progress;
