ALTER TABLE mart.dq_results DROP COLUMN IF EXISTS action;
COMMENT ON COLUMN mart.dq_results.period IS 'Reporting month of the run.';
COMMENT ON COLUMN mart.dq_results.source IS 'registrations | pois | uploads | coverage.';
COMMENT ON COLUMN mart.dq_results.suite IS 'Expectation suite (expectations/<suite>.json).';
COMMENT ON COLUMN mart.dq_results.severity IS 'critical (blocks publishing) | warning (reported).';
