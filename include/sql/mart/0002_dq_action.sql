-- What each data-quality result did: analysts filter on it (blocked = why a publish stopped).
ALTER TABLE mart.dq_results ADD COLUMN action text NOT NULL DEFAULT 'passed';
COMMENT ON COLUMN mart.dq_results.action IS 'passed | reported (failed warning) | quarantined (failed critical row-level expectation: the failing rows went to quarantine with the expectation name) | blocked (failed critical that stopped the publish).';
COMMENT ON COLUMN mart.dq_results.period IS 'Reporting month of the run (YYYY-MM), or ''reference'' for the reference tables refreshed from config/ by every DAG.';
COMMENT ON COLUMN mart.dq_results.source IS 'registrations | pois | uploads | coverage | reference.';
COMMENT ON COLUMN mart.dq_results.suite IS 'Expectation suite (expectations/<suite>.json), or table_checks for the table-level checks of lifecircle.quality.checks.';
COMMENT ON COLUMN mart.dq_results.severity IS 'critical (= error: blocks publishing to core/mart, or quarantines the failing rows of a row-level expectation) | warning (reported).';
