-- mart.monthly_progress: the trend and where it leads by the target date.
ALTER TABLE mart.monthly_progress
    ADD COLUMN trend_per_month numeric,
    ADD COLUMN months_to_due   integer,
    ADD COLUMN projected_value numeric;
COMMENT ON COLUMN mart.monthly_progress.trend_per_month IS 'Recent trend: change per calendar month over up to the last three earlier months with a value; null without history.';
COMMENT ON COLUMN mart.monthly_progress.months_to_due IS 'Whole calendar months from the month''s end to the target''s due date (negative once past); null for standing rules.';
COMMENT ON COLUMN mart.monthly_progress.projected_value IS 'value + trend_per_month x months_to_due: where the trend leads by the due date; null without a trend or due date.';
