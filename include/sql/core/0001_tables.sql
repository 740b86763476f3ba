-- core: the city's reference data and the cleaned facts the indicators are computed from.
CREATE SCHEMA IF NOT EXISTS core;
COMMENT ON SCHEMA core IS 'Reference data (divisions, communities, circles, categories, targets, tasks) and cleaned facts (outlets, locations, surveys) that indicators are computed from.';

CREATE TABLE core.division (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    level       text NOT NULL,
    parent_code text
);
COMMENT ON TABLE core.division IS 'Administrative divisions: city, districts, streets (National Bureau of Statistics codes).';
COMMENT ON COLUMN core.division.code IS 'Division code (6 digits city/district, 9 digits street).';
COMMENT ON COLUMN core.division.name IS 'Chinese name.';
COMMENT ON COLUMN core.division.level IS 'city | district | street.';
COMMENT ON COLUMN core.division.parent_code IS 'Code of the enclosing division.';

CREATE TABLE core.community (
    community_code text PRIMARY KEY,
    name           text NOT NULL,
    street_code    text NOT NULL,
    district_code  text NOT NULL,
    synthetic      boolean NOT NULL,
    lng            double precision NOT NULL,
    lat            double precision NOT NULL,
    population     integer NOT NULL,
    households     integer NOT NULL
);
COMMENT ON TABLE core.community IS 'Communities (社区) with location, population and households.';
COMMENT ON COLUMN core.community.community_code IS '12-digit community code.';
COMMENT ON COLUMN core.community.name IS 'Community name.';
COMMENT ON COLUMN core.community.street_code IS 'Street (街道) the community belongs to.';
COMMENT ON COLUMN core.community.district_code IS 'District (区) the community belongs to.';
COMMENT ON COLUMN core.community.synthetic IS 'True for communities invented for the sample city (not a real community).';
COMMENT ON COLUMN core.community.lng IS 'Centroid longitude, WGS-84.';
COMMENT ON COLUMN core.community.lat IS 'Centroid latitude, WGS-84.';
COMMENT ON COLUMN core.community.population IS 'Resident population.';
COMMENT ON COLUMN core.community.households IS 'Households.';

CREATE TABLE core.population_point (
    point_id       text PRIMARY KEY,
    community_code text NOT NULL,
    lng            double precision NOT NULL,
    lat            double precision NOT NULL,
    population     integer NOT NULL
);
COMMENT ON TABLE core.population_point IS 'Where residents live (compounds or grid cells with population): the origins of walking distances.';
COMMENT ON COLUMN core.population_point.point_id IS 'Point id.';
COMMENT ON COLUMN core.population_point.community_code IS 'Community the point belongs to.';
COMMENT ON COLUMN core.population_point.lng IS 'Longitude, WGS-84.';
COMMENT ON COLUMN core.population_point.lat IS 'Latitude, WGS-84.';
COMMENT ON COLUMN core.population_point.population IS 'Residents at the point.';

CREATE TABLE core.circle (
    circle_code      text PRIMARY KEY,
    name             text NOT NULL,
    anchor_community text,
    build_year       integer,
    batch            integer
);
COMMENT ON TABLE core.circle IS 'Living circles (便民生活圈): named groups of communities (Tianshui annex 2).';
COMMENT ON COLUMN core.circle.circle_code IS 'Circle code.';
COMMENT ON COLUMN core.circle.name IS 'Circle name.';
COMMENT ON COLUMN core.circle.anchor_community IS 'Community the circle is named after.';
COMMENT ON COLUMN core.circle.build_year IS 'Year the circle is built (建设年限).';
COMMENT ON COLUMN core.circle.batch IS 'Pilot batch.';

CREATE TABLE core.circle_member (
    circle_code    text NOT NULL REFERENCES core.circle (circle_code),
    community_code text NOT NULL REFERENCES core.community (community_code),
    role           text NOT NULL,
    PRIMARY KEY (circle_code, community_code)
);
COMMENT ON TABLE core.circle_member IS 'Communities that make up each circle.';
COMMENT ON COLUMN core.circle_member.circle_code IS 'Circle.';
COMMENT ON COLUMN core.circle_member.community_code IS 'Member community.';
COMMENT ON COLUMN core.circle_member.role IS 'anchor (the circle is named after it) | member.';

CREATE TABLE core.category (
    category_code         text PRIMARY KEY,
    name_zh               text NOT NULL,
    category_group        text NOT NULL,
    annex5_order          integer NOT NULL,
    walk_minutes          numeric(5,1) NOT NULL,
    threshold_m           numeric(8,1) NOT NULL,
    required_for_coverage boolean NOT NULL
);
COMMENT ON TABLE core.category IS 'Business categories (业态) in annex-5 order with their walking thresholds.';
COMMENT ON COLUMN core.category.category_code IS 'Category key used in every table.';
COMMENT ON COLUMN core.category.name_zh IS 'Chinese name as on the annex-5 form.';
COMMENT ON COLUMN core.category.category_group IS 'basic (基本保障类) | quality (品质提升类).';
COMMENT ON COLUMN core.category.annex5_order IS 'Row order on the annex-5 form.';
COMMENT ON COLUMN core.category.walk_minutes IS 'Walking time within which the category should be reachable.';
COMMENT ON COLUMN core.category.threshold_m IS 'walk_minutes x the city''s walking speed, metres of network walk.';
COMMENT ON COLUMN core.category.required_for_coverage IS 'A community counts as covered when every required category is present.';

CREATE TABLE core.target (
    indicator    text NOT NULL,
    level        text NOT NULL,
    due_date     date,
    target_value numeric NOT NULL,
    unit         text NOT NULL,
    comparator   text NOT NULL,
    source       text,
    UNIQUE NULLS NOT DISTINCT (indicator, level, due_date)
);
COMMENT ON TABLE core.target IS 'Dated targets of the city''s plan (e.g. Tianshui: communities covered >=30% by end-2023).';
COMMENT ON COLUMN core.target.indicator IS 'Indicator key, as in mart.coverage_indicator.';
COMMENT ON COLUMN core.target.level IS 'Level the target applies to: city | district | circle | community.';
COMMENT ON COLUMN core.target.due_date IS 'Date by which the target must be met; null for a standing rule that always applies.';
COMMENT ON COLUMN core.target.target_value IS 'Target value (shares as 0-1, percentages as 0-100).';
COMMENT ON COLUMN core.target.unit IS 'share | pct | m2 | count.';
COMMENT ON COLUMN core.target.comparator IS '>= or <=.';
COMMENT ON COLUMN core.target.source IS 'Where the target is written (document and section).';

CREATE TABLE core.task (
    task_id      text PRIMARY KEY,
    annex        integer NOT NULL,
    seq          integer NOT NULL,
    item         text,
    measure      text NOT NULL,
    lead_units   text[] NOT NULL,
    co_units     text[] NOT NULL,
    deadline_raw text,
    deadline     date,
    ongoing      boolean NOT NULL
);
COMMENT ON TABLE core.task IS 'Tasks of the plan''s annexes 3 (12 key tasks) and 4 (30 tasks).';
COMMENT ON COLUMN core.task.task_id IS 'A3-nn or A4-nn.';
COMMENT ON COLUMN core.task.annex IS 'Annex number (3 or 4).';
COMMENT ON COLUMN core.task.seq IS 'Number within the annex.';
COMMENT ON COLUMN core.task.item IS 'Work item heading (项目).';
COMMENT ON COLUMN core.task.measure IS 'Measure (推进措施).';
COMMENT ON COLUMN core.task.lead_units IS 'Lead units (牵头单位).';
COMMENT ON COLUMN core.task.co_units IS 'Cooperating units (配合单位).';
COMMENT ON COLUMN core.task.deadline_raw IS 'Deadline as written (完成时限).';
COMMENT ON COLUMN core.task.deadline IS 'Deadline as a date; null when ongoing.';
COMMENT ON COLUMN core.task.ongoing IS 'True for 常态化推进 (ongoing, no deadline).';

CREATE TABLE core.outlet_history (
    uscc           text NOT NULL,
    valid_from     date NOT NULL,
    valid_to       date,
    name           text NOT NULL,
    brand          text NOT NULL,
    is_chain       boolean NOT NULL,
    category_code  text,
    status         text NOT NULL,
    is_open        boolean NOT NULL,
    community_code text,
    address        text NOT NULL,
    PRIMARY KEY (uscc, valid_from)
);
COMMENT ON TABLE core.outlet_history IS 'Registered outlets with the validity interval of each state (SCD type 2): the outlets open at any month end can be rebuilt.';
COMMENT ON COLUMN core.outlet_history.uscc IS 'Unified social credit code.';
COMMENT ON COLUMN core.outlet_history.valid_from IS 'First day this state holds.';
COMMENT ON COLUMN core.outlet_history.valid_to IS 'First day it no longer holds; null while current.';
COMMENT ON COLUMN core.outlet_history.name IS 'Registered name.';
COMMENT ON COLUMN core.outlet_history.brand IS 'Normalised brand.';
COMMENT ON COLUMN core.outlet_history.is_chain IS 'Known chain brand, or a brand with at least the configured number of outlets in the city.';
COMMENT ON COLUMN core.outlet_history.category_code IS 'Business category; null when unmapped.';
COMMENT ON COLUMN core.outlet_history.status IS 'Registry status.';
COMMENT ON COLUMN core.outlet_history.is_open IS 'False once closed (注销/吊销/迁出).';
COMMENT ON COLUMN core.outlet_history.community_code IS 'Community named in the address.';
COMMENT ON COLUMN core.outlet_history.address IS 'Registered address.';

CREATE TABLE core.outlet_location (
    snapshot_date  date NOT NULL,
    poi_id         text NOT NULL,
    name           text NOT NULL,
    category_code  text NOT NULL,
    lng            double precision NOT NULL,
    lat            double precision NOT NULL,
    community_code text,
    PRIMARY KEY (snapshot_date, poi_id)
);
COMMENT ON TABLE core.outlet_location IS 'Located, categorised outlets of each dated map harvest: the destinations of walking distances.';
COMMENT ON COLUMN core.outlet_location.snapshot_date IS 'Date of the harvest.';
COMMENT ON COLUMN core.outlet_location.poi_id IS 'AMap POI id.';
COMMENT ON COLUMN core.outlet_location.name IS 'Name.';
COMMENT ON COLUMN core.outlet_location.category_code IS 'Business category.';
COMMENT ON COLUMN core.outlet_location.lng IS 'Longitude, WGS-84.';
COMMENT ON COLUMN core.outlet_location.lat IS 'Latitude, WGS-84.';
COMMENT ON COLUMN core.outlet_location.community_code IS 'Community of the nearest population point.';

CREATE TABLE core.circle_survey (
    period                  text NOT NULL,
    circle_code             text NOT NULL,
    upload_id               text NOT NULL,
    as_of                   date NOT NULL,
    operator_types          text[] NOT NULL,
    smart_platform          boolean,
    development_form        text,
    commercial_centres      integer,
    residents_covered_10k   numeric(12,2),
    facility_area_share_pct numeric(6,2),
    satisfaction_pct        numeric(6,2),
    demand_list             text,
    PRIMARY KEY (period, circle_code)
);
COMMENT ON TABLE core.circle_survey IS 'The latest accepted annex-5 form of each circle as of each period''s end.';
COMMENT ON COLUMN core.circle_survey.period IS 'Reporting month.';
COMMENT ON COLUMN core.circle_survey.circle_code IS 'Circle.';
COMMENT ON COLUMN core.circle_survey.upload_id IS 'Workbook the figures come from.';
COMMENT ON COLUMN core.circle_survey.as_of IS '截至日期 of the form.';
COMMENT ON COLUMN core.circle_survey.operator_types IS 'Operator types ticked.';
COMMENT ON COLUMN core.circle_survey.smart_platform IS 'Smart service platform exists.';
COMMENT ON COLUMN core.circle_survey.development_form IS 'clustered | street_block | dispersed.';
COMMENT ON COLUMN core.circle_survey.commercial_centres IS 'Community commercial centres.';
COMMENT ON COLUMN core.circle_survey.residents_covered_10k IS 'Residents covered, 10k persons (as reported).';
COMMENT ON COLUMN core.circle_survey.facility_area_share_pct IS 'Facility floor-area share, %.';
COMMENT ON COLUMN core.circle_survey.satisfaction_pct IS 'Mean of the per-category satisfaction figures on the form, %.';
COMMENT ON COLUMN core.circle_survey.demand_list IS 'All demand lists (缺什么) on the form, joined.';

CREATE TABLE core.circle_satisfaction (
    period             text NOT NULL,
    circle_code        text NOT NULL,
    responses          integer NOT NULL,
    satisfied          integer NOT NULL,
    satisfaction_pct   numeric(6,2) NOT NULL,
    sample_ok          boolean NOT NULL,
    repeat_respondents integer NOT NULL,
    PRIMARY KEY (period, circle_code)
);
COMMENT ON TABLE core.circle_satisfaction IS 'Resident satisfaction per circle from individual responses, with its sample size (>=50 needed).';
COMMENT ON COLUMN core.circle_satisfaction.period IS 'Reporting month.';
COMMENT ON COLUMN core.circle_satisfaction.circle_code IS 'Circle.';
COMMENT ON COLUMN core.circle_satisfaction.responses IS 'Distinct respondents.';
COMMENT ON COLUMN core.circle_satisfaction.satisfied IS 'Respondents satisfied or very satisfied.';
COMMENT ON COLUMN core.circle_satisfaction.satisfaction_pct IS 'satisfied / responses, %.';
COMMENT ON COLUMN core.circle_satisfaction.sample_ok IS 'True when responses >= the city''s minimum sample (50).';
COMMENT ON COLUMN core.circle_satisfaction.repeat_respondents IS 'Responses dropped as repeats of the same respondent.';
