-- Down for both mart 0003 files (0003_progress.sql, 0003_views.sql): the views read the
-- new columns, so they go first.
DROP VIEW IF EXISTS mart.v_unit_reporting, mart.v_task_status, mart.v_circle_cards, mart.v_community_gaps,
    mart.v_city_progress;
ALTER TABLE mart.monthly_progress
    DROP COLUMN IF EXISTS projected_value,
    DROP COLUMN IF EXISTS months_to_due,
    DROP COLUMN IF EXISTS trend_per_month;
