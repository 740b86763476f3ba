-- Coverage plan views (issue 7): 缺什么 joined with residents' demands, 补什么 candidate
-- sites, and the typology grade of each circle. Keyed by the reporting month; each
-- coverage run replaces its month's rows.

CREATE TABLE mart.missing_category (
    period             text NOT NULL,
    circle_code        text,
    community_code     text NOT NULL,
    category_code      text NOT NULL,
    required           boolean NOT NULL,
    residents_affected integer NOT NULL,
    demanded_by_survey boolean NOT NULL,
    survey_mentions    integer NOT NULL,
    annex5_demand      text,
    method             text NOT NULL,
    UNIQUE NULLS NOT DISTINCT (period, circle_code, community_code, category_code)
);
COMMENT ON TABLE mart.missing_category IS '缺什么: per month, circle and community, each category not present within its walking threshold that is required for coverage or that the circle''s residents asked for in surveys.';
COMMENT ON COLUMN mart.missing_category.period IS 'Reporting month YYYY-MM (outlets open at its end).';
COMMENT ON COLUMN mart.missing_category.circle_code IS 'Circle the community belongs to (one row per circle); null for a community in no circle.';
COMMENT ON COLUMN mart.missing_category.community_code IS 'Community.';
COMMENT ON COLUMN mart.missing_category.category_code IS 'Missing category.';
COMMENT ON COLUMN mart.missing_category.required IS 'True when the category is required for coverage (a basic category); false = only residents asked for it.';
COMMENT ON COLUMN mart.missing_category.residents_affected IS 'Community population minus residents who reach the category within its threshold.';
COMMENT ON COLUMN mart.missing_category.demanded_by_survey IS 'True when the circle''s annex-5 demand list (缺什么) or a resident''s satisfaction response asks for the category.';
COMMENT ON COLUMN mart.missing_category.survey_mentions IS 'Distinct respondents in the circle (responses submitted by the month''s end) who named the category as missing.';
COMMENT ON COLUMN mart.missing_category.annex5_demand IS 'The annex-5 demand text(s) that ask for the category; null when none.';
COMMENT ON COLUMN mart.missing_category.method IS 'network (exact walking distances) | approximate (straight line x detour factor).';

CREATE TABLE mart.candidate_site (
    period                  text NOT NULL,
    circle_code             text NOT NULL,
    category_code           text NOT NULL,
    rank                    integer NOT NULL,
    node_id                 bigint,
    lng                     double precision NOT NULL,
    lat                     double precision NOT NULL,
    residents_newly_covered integer NOT NULL,
    cumulative_residents    integer NOT NULL,
    residents_uncovered     integer NOT NULL,
    method                  text NOT NULL,
    PRIMARY KEY (period, circle_code, category_code, rank)
);
COMMENT ON TABLE mart.candidate_site IS '补什么: for each required category missing in a circle, the top candidate sites by greedy maximum coverage of the residents not yet within its threshold.';
COMMENT ON COLUMN mart.candidate_site.period IS 'Reporting month YYYY-MM.';
COMMENT ON COLUMN mart.candidate_site.circle_code IS 'Circle.';
COMMENT ON COLUMN mart.candidate_site.category_code IS 'Missing required category the site is proposed for.';
COMMENT ON COLUMN mart.candidate_site.rank IS '1 = picked first (covers most residents); each later pick counts residents covered by earlier picks as covered.';
COMMENT ON COLUMN mart.candidate_site.node_id IS 'Walking-network node of the site (city network node id); null in approximate mode, where the site is a population point.';
COMMENT ON COLUMN mart.candidate_site.lng IS 'Site longitude, WGS-84.';
COMMENT ON COLUMN mart.candidate_site.lat IS 'Site latitude, WGS-84.';
COMMENT ON COLUMN mart.candidate_site.residents_newly_covered IS 'Residents of the circle who would newly reach the category within its threshold thanks to this site.';
COMMENT ON COLUMN mart.candidate_site.cumulative_residents IS 'Residents newly covered by the picks of rank 1..this rank together.';
COMMENT ON COLUMN mart.candidate_site.residents_uncovered IS 'Residents of the circle without the category within its threshold before any pick.';
COMMENT ON COLUMN mart.candidate_site.method IS 'network (exact walking distances from each resident point) | approximate (straight line x detour factor, sites at population points).';

CREATE TABLE mart.circle_typology (
    period      text NOT NULL,
    circle_code text NOT NULL,
    grade_code  text NOT NULL,
    grade_label text NOT NULL,
    grade_rank  integer NOT NULL,
    reasons     jsonb NOT NULL,
    facts       jsonb NOT NULL,
    PRIMARY KEY (period, circle_code)
);
COMMENT ON TABLE mart.circle_typology IS 'Typology grade of each circle per month (基础型/提升型/品质型) from the city''s rules file (config/typology, a documented default, not MOFCOM''s official tables).';
COMMENT ON COLUMN mart.circle_typology.period IS 'Reporting month YYYY-MM.';
COMMENT ON COLUMN mart.circle_typology.circle_code IS 'Circle.';
COMMENT ON COLUMN mart.circle_typology.grade_code IS 'Grade code from the rules file (quality | improved | basic) or ungraded.';
COMMENT ON COLUMN mart.circle_typology.grade_label IS 'Grade label, e.g. 基础型; the rules'' ungraded_label (未达标) when no grade holds.';
COMMENT ON COLUMN mart.circle_typology.grade_rank IS '0 = ungraded, 1 = lowest grade, upwards; the value of indicator typology in mart.coverage_indicator.';
COMMENT ON COLUMN mart.circle_typology.reasons IS 'Conditions of each higher grade that failed: [{grade, label, condition, required, actual}].';
COMMENT ON COLUMN mart.circle_typology.facts IS 'Inputs the rules judged: categories with an outlet in the circle, chain share, satisfaction and responses, smart platform.';
