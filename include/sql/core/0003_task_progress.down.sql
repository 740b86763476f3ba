DROP TABLE IF EXISTS core.task_progress;
