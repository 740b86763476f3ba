-- mart: indicators and progress, keyed by month, for the report and analysts' queries.
CREATE SCHEMA IF NOT EXISTS mart;
COMMENT ON SCHEMA mart IS 'Indicators and monthly progress keyed by reporting month: what the report shows and analysts query.';

CREATE TABLE mart.community_category_access (
    period                  text NOT NULL,
    community_code          text NOT NULL,
    category_code           text NOT NULL,
    nearest_m               numeric(10,1),
    nearest_walk_min        numeric(8,1),
    threshold_m             numeric(8,1) NOT NULL,
    population_within       integer NOT NULL,
    population_share_within numeric(6,4) NOT NULL,
    outlets_within          integer NOT NULL,
    present                 boolean NOT NULL,
    method                  text NOT NULL,
    PRIMARY KEY (period, community_code, category_code)
);
COMMENT ON TABLE mart.community_category_access IS 'Per community and category: how far residents walk to the nearest outlet and whether the category is present within its threshold.';
COMMENT ON COLUMN mart.community_category_access.period IS 'Reporting month (outlets open at its end).';
COMMENT ON COLUMN mart.community_category_access.community_code IS 'Community.';
COMMENT ON COLUMN mart.community_category_access.category_code IS 'Business category.';
COMMENT ON COLUMN mart.community_category_access.nearest_m IS 'Population-weighted walking distance from residents to the nearest outlet, metres; null when none within reach.';
COMMENT ON COLUMN mart.community_category_access.nearest_walk_min IS 'nearest_m at the city''s walking speed, minutes.';
COMMENT ON COLUMN mart.community_category_access.threshold_m IS 'The category''s walking threshold, metres.';
COMMENT ON COLUMN mart.community_category_access.population_within IS 'Residents with an outlet of the category within the threshold.';
COMMENT ON COLUMN mart.community_category_access.population_share_within IS 'population_within / community population.';
COMMENT ON COLUMN mart.community_category_access.outlets_within IS 'Outlets of the category within the threshold of the community centroid.';
COMMENT ON COLUMN mart.community_category_access.present IS 'True when at least half the residents (configurable) reach the category within its threshold.';
COMMENT ON COLUMN mart.community_category_access.method IS 'network (exact walking-network distance) | approximate (straight line x detour factor).';

CREATE TABLE mart.coverage_indicator (
    period      text NOT NULL,
    level       text NOT NULL,
    unit_code   text NOT NULL,
    unit_name   text NOT NULL,
    indicator   text NOT NULL,
    value       numeric,
    numerator   numeric,
    denominator numeric,
    method      text NOT NULL,
    PRIMARY KEY (period, level, unit_code, indicator)
);
COMMENT ON TABLE mart.coverage_indicator IS 'Every indicator per month at community, circle, district and city level (long format).';
COMMENT ON COLUMN mart.coverage_indicator.period IS 'Reporting month.';
COMMENT ON COLUMN mart.coverage_indicator.level IS 'community | circle | district | city.';
COMMENT ON COLUMN mart.coverage_indicator.unit_code IS 'Code of the community, circle, district or city.';
COMMENT ON COLUMN mart.coverage_indicator.unit_name IS 'Its name.';
COMMENT ON COLUMN mart.coverage_indicator.indicator IS 'Indicator key, e.g. communities_covered_share, residents_covered_share, chain_share, satisfaction_pct.';
COMMENT ON COLUMN mart.coverage_indicator.value IS 'Value (shares 0-1, percentages 0-100); null when no data.';
COMMENT ON COLUMN mart.coverage_indicator.numerator IS 'Numerator of a share, when it is one.';
COMMENT ON COLUMN mart.coverage_indicator.denominator IS 'Denominator of a share, when it is one.';
COMMENT ON COLUMN mart.coverage_indicator.method IS 'network | approximate | survey | registry: where the figure comes from.';

CREATE TABLE mart.monthly_progress (
    period            text NOT NULL,
    level             text NOT NULL,
    unit_code         text NOT NULL,
    indicator         text NOT NULL,
    value             numeric,
    target_value      numeric,
    target_due        date,
    gap               numeric,
    change_since_last numeric,
    status            text NOT NULL,
    PRIMARY KEY (period, level, unit_code, indicator)
);
COMMENT ON TABLE mart.monthly_progress IS 'Each tracked indicator against the target in force at the month''s end.';
COMMENT ON COLUMN mart.monthly_progress.period IS 'Reporting month.';
COMMENT ON COLUMN mart.monthly_progress.level IS 'city | district | circle | community.';
COMMENT ON COLUMN mart.monthly_progress.unit_code IS 'Unit code.';
COMMENT ON COLUMN mart.monthly_progress.indicator IS 'Indicator key.';
COMMENT ON COLUMN mart.monthly_progress.value IS 'Value this month.';
COMMENT ON COLUMN mart.monthly_progress.target_value IS 'Target in force: the next one due on or after the month''s end (else the last one).';
COMMENT ON COLUMN mart.monthly_progress.target_due IS 'Due date of that target.';
COMMENT ON COLUMN mart.monthly_progress.gap IS 'value - target (negative = short of target).';
COMMENT ON COLUMN mart.monthly_progress.change_since_last IS 'Change since the previous month, when it was computed.';
COMMENT ON COLUMN mart.monthly_progress.status IS 'met | on_track | at_risk | missed | no_data.';

CREATE TABLE mart.dq_results (
    period           text NOT NULL,
    source           text NOT NULL,
    table_name       text NOT NULL,
    suite            text NOT NULL,
    expectation      text NOT NULL,
    severity         text NOT NULL,
    success          boolean NOT NULL,
    observed_value   text,
    unexpected_count bigint,
    element_count    bigint,
    PRIMARY KEY (period, table_name, suite, expectation)
);
COMMENT ON TABLE mart.dq_results IS 'Result of every data-quality expectation run, per period and table.';
COMMENT ON COLUMN mart.dq_results.period IS 'Reporting month of the run.';
COMMENT ON COLUMN mart.dq_results.source IS 'registrations | pois | uploads | coverage.';
COMMENT ON COLUMN mart.dq_results.table_name IS 'Table (or batch) validated.';
COMMENT ON COLUMN mart.dq_results.suite IS 'Expectation suite (expectations/<suite>.json).';
COMMENT ON COLUMN mart.dq_results.expectation IS 'Expectation type and column, e.g. expect_column_values_to_not_be_null(uscc).';
COMMENT ON COLUMN mart.dq_results.severity IS 'critical (blocks publishing) | warning (reported).';
COMMENT ON COLUMN mart.dq_results.success IS 'Whether the expectation held.';
COMMENT ON COLUMN mart.dq_results.observed_value IS 'Observed value as text, when the expectation reports one.';
COMMENT ON COLUMN mart.dq_results.unexpected_count IS 'Rows that broke the expectation.';
COMMENT ON COLUMN mart.dq_results.element_count IS 'Rows checked.';
