-- Documented views for analysts' own queries (docs/mart_views.md). Every view is keyed by
-- the reporting month `period`; filter on it.

CREATE VIEW mart.v_city_progress AS
SELECT p.period, p.unit_code AS city_code, ci.unit_name AS city_name, p.indicator, p.value, p.target_value,
       p.target_due, p.gap, p.change_since_last, p.trend_per_month, p.months_to_due, p.projected_value, p.status
FROM mart.monthly_progress p
LEFT JOIN mart.coverage_indicator ci
       ON ci.period = p.period AND ci.level = p.level AND ci.unit_code = p.unit_code AND ci.indicator = p.indicator
WHERE p.level = 'city';
COMMENT ON VIEW mart.v_city_progress IS 'City-level indicators against the target in force, per month: one row per month and tracked indicator.';
COMMENT ON COLUMN mart.v_city_progress.period IS 'Reporting month YYYY-MM.';
COMMENT ON COLUMN mart.v_city_progress.city_code IS 'City code.';
COMMENT ON COLUMN mart.v_city_progress.city_name IS 'City name.';
COMMENT ON COLUMN mart.v_city_progress.indicator IS 'Indicator key (see mart.coverage_indicator).';
COMMENT ON COLUMN mart.v_city_progress.value IS 'Value this month.';
COMMENT ON COLUMN mart.v_city_progress.target_value IS 'Target in force at the month''s end.';
COMMENT ON COLUMN mart.v_city_progress.target_due IS 'Its due date; null for a standing rule.';
COMMENT ON COLUMN mart.v_city_progress.gap IS 'value - target_value (negative = short).';
COMMENT ON COLUMN mart.v_city_progress.change_since_last IS 'Change since the previous month.';
COMMENT ON COLUMN mart.v_city_progress.trend_per_month IS 'Recent change per calendar month.';
COMMENT ON COLUMN mart.v_city_progress.months_to_due IS 'Whole months from the month''s end to the due date.';
COMMENT ON COLUMN mart.v_city_progress.projected_value IS 'Value the trend reaches by the due date.';
COMMENT ON COLUMN mart.v_city_progress.status IS 'met | on_track | at_risk | missed | no_data.';

CREATE VIEW mart.v_community_gaps AS
SELECT a.period, a.community_code, c.name AS community_name, c.district_code,
       ARRAY(SELECT m.circle_code FROM core.circle_member m WHERE m.community_code = a.community_code
             ORDER BY m.circle_code) AS circle_codes,
       a.category_code, k.name_zh AS category_name, k.annex5_order, a.nearest_m, a.threshold_m,
       c.population, a.population_within, c.population - a.population_within AS residents_lacking
FROM mart.community_category_access a
JOIN core.community c ON c.community_code = a.community_code
JOIN core.category k ON k.category_code = a.category_code
WHERE k.required_for_coverage AND NOT a.present;
COMMENT ON VIEW mart.v_community_gaps IS 'What each community lacks: one row per month, community and basic (required) category not present within its walking threshold.';
COMMENT ON COLUMN mart.v_community_gaps.period IS 'Reporting month YYYY-MM.';
COMMENT ON COLUMN mart.v_community_gaps.community_code IS 'Community.';
COMMENT ON COLUMN mart.v_community_gaps.community_name IS 'Community name.';
COMMENT ON COLUMN mart.v_community_gaps.district_code IS 'District of the community.';
COMMENT ON COLUMN mart.v_community_gaps.circle_codes IS 'Circles the community belongs to (empty when none).';
COMMENT ON COLUMN mart.v_community_gaps.category_code IS 'Missing basic category.';
COMMENT ON COLUMN mart.v_community_gaps.category_name IS 'Its Chinese name (annex 5).';
COMMENT ON COLUMN mart.v_community_gaps.annex5_order IS 'Row order of the category on the annex-5 form.';
COMMENT ON COLUMN mart.v_community_gaps.nearest_m IS 'Population-weighted walking distance to the nearest outlet, m; null when none within reach.';
COMMENT ON COLUMN mart.v_community_gaps.threshold_m IS 'Walking threshold of the category, m.';
COMMENT ON COLUMN mart.v_community_gaps.population IS 'Residents of the community.';
COMMENT ON COLUMN mart.v_community_gaps.population_within IS 'Residents who do reach the category within the threshold.';
COMMENT ON COLUMN mart.v_community_gaps.residents_lacking IS 'population - population_within: residents affected by the gap.';

CREATE VIEW mart.v_circle_cards AS
WITH ind AS (
    SELECT period, unit_code AS circle_code,
           max(value) FILTER (WHERE indicator = 'communities_covered_share') AS communities_covered_share,
           max(value) FILTER (WHERE indicator = 'residents_covered_share')   AS residents_covered_share,
           max(value) FILTER (WHERE indicator = 'satisfaction_pct')          AS satisfaction_pct,
           max(value) FILTER (WHERE indicator = 'chain_share')               AS chain_share,
           max(value) FILTER (WHERE indicator = 'facility_area_share_pct')   AS facility_area_share_pct
    FROM mart.coverage_indicator WHERE level = 'circle' GROUP BY period, unit_code
), gaps AS (
    SELECT g.period, m.circle_code, g.category_code, g.category_name, g.annex5_order,
           count(*) AS communities_lacking, sum(g.residents_lacking) AS residents_lacking
    FROM mart.v_community_gaps g JOIN core.circle_member m ON m.community_code = g.community_code
    GROUP BY 1, 2, 3, 4, 5
), gap_lists AS (
    SELECT period, circle_code,
           array_agg(category_name ORDER BY annex5_order, category_code) AS missing_categories,
           string_agg(category_name || '（' || communities_lacking || '个社区，' || residents_lacking || '人）', '；'
                      ORDER BY annex5_order, category_code) AS missing_detail,
           sum(residents_lacking) AS residents_lacking
    FROM gaps GROUP BY period, circle_code
)
SELECT i.period, c.circle_code, c.name AS circle_name, c.build_year,
       (SELECT count(*) FROM core.circle_member m WHERE m.circle_code = c.circle_code) AS member_communities,
       i.communities_covered_share, i.residents_covered_share, i.satisfaction_pct, i.chain_share, i.facility_area_share_pct,
       coalesce(gl.missing_categories, '{}') AS missing_categories, gl.missing_detail,
       coalesce(gl.residents_lacking, 0) AS residents_lacking,
       s.demand_list, s.as_of AS survey_as_of
FROM ind i
JOIN core.circle c ON c.circle_code = i.circle_code
LEFT JOIN gap_lists gl ON gl.period = i.period AND gl.circle_code = i.circle_code
LEFT JOIN core.circle_survey s ON s.period = i.period AND s.circle_code = i.circle_code;
COMMENT ON VIEW mart.v_circle_cards IS 'One row per month and circle: its main indicators, the basic categories its communities lack (缺什么) and the residents affected, and the residents'' demand list from the annex-5 form.';
COMMENT ON COLUMN mart.v_circle_cards.period IS 'Reporting month YYYY-MM.';
COMMENT ON COLUMN mart.v_circle_cards.circle_code IS 'Circle.';
COMMENT ON COLUMN mart.v_circle_cards.circle_name IS 'Circle name.';
COMMENT ON COLUMN mart.v_circle_cards.build_year IS 'Year the circle is (to be) built.';
COMMENT ON COLUMN mart.v_circle_cards.member_communities IS 'Number of member communities.';
COMMENT ON COLUMN mart.v_circle_cards.communities_covered_share IS 'Share of member communities covered (0-1).';
COMMENT ON COLUMN mart.v_circle_cards.residents_covered_share IS 'Share of residents covered (0-1).';
COMMENT ON COLUMN mart.v_circle_cards.satisfaction_pct IS 'Resident satisfaction, %.';
COMMENT ON COLUMN mart.v_circle_cards.chain_share IS 'Chain outlets / open registered outlets (0-1).';
COMMENT ON COLUMN mart.v_circle_cards.facility_area_share_pct IS 'Facility floor-area share from the annex-5 form, %.';
COMMENT ON COLUMN mart.v_circle_cards.missing_categories IS 'Basic categories missing in at least one member community, in annex-5 order.';
COMMENT ON COLUMN mart.v_circle_cards.missing_detail IS 'Per missing category: member communities lacking it and residents affected, as text.';
COMMENT ON COLUMN mart.v_circle_cards.residents_lacking IS 'Sum over missing categories of residents without that category (a resident may count once per category).';
COMMENT ON COLUMN mart.v_circle_cards.demand_list IS 'Residents'' demand list (缺什么) from the latest annex-5 form.';
COMMENT ON COLUMN mart.v_circle_cards.survey_as_of IS '截至日期 of that form; null when none received.';

CREATE VIEW mart.v_task_status AS
WITH periods AS (
    SELECT DISTINCT period, (to_date(period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date AS period_end
    FROM mart.coverage_indicator WHERE level = 'city'
), latest AS (
    SELECT DISTINCT ON (p.period, tp.task_id) p.period, tp.task_id, tp.unit, tp.period AS reported_period, tp.status,
           tp.progress_pct, tp.as_of, tp.notes
    FROM periods p JOIN core.task_progress tp ON tp.period <= p.period
    ORDER BY p.period, tp.task_id, tp.period DESC, tp.as_of DESC, tp.unit
), this_month AS (
    SELECT period, task_id, array_agg(DISTINCT unit) AS units FROM core.task_progress GROUP BY period, task_id
)
SELECT p.period, t.task_id, t.annex, t.seq, t.item, t.measure, t.lead_units, t.co_units, t.deadline_raw, t.deadline,
       t.ongoing, t.deadline - p.period_end AS days_to_deadline,
       l.reported_period AS last_reported_period, l.unit AS last_reported_by, l.status AS last_status,
       l.progress_pct AS last_progress_pct, l.as_of AS last_as_of, l.notes AS last_notes,
       ARRAY(SELECT u FROM unnest(t.lead_units) WITH ORDINALITY AS x(u, n)
             WHERE NOT (u = ANY (coalesce(m.units, '{}'::text[]))) ORDER BY n) AS lead_units_not_reported,
       CASE WHEN l.status = 'completed' THEN 'completed'
            WHEN t.ongoing OR t.deadline IS NULL THEN 'ongoing'
            WHEN t.deadline < p.period_end THEN 'overdue'
            WHEN t.deadline <= p.period_end + 30 THEN 'due_soon'
            ELSE 'open' END AS state
FROM periods p
CROSS JOIN core.task t
LEFT JOIN latest l ON l.period = p.period AND l.task_id = t.task_id
LEFT JOIN this_month m ON m.period = p.period AND m.task_id = t.task_id;
COMMENT ON VIEW mart.v_task_status IS 'Every annex-3/4 task in every reporting month: deadline, last reported progress and state (overdue / due within 30 days of the month''s end / ...).';
COMMENT ON COLUMN mart.v_task_status.period IS 'Reporting month YYYY-MM (months with city indicators).';
COMMENT ON COLUMN mart.v_task_status.task_id IS 'A3-nn or A4-nn.';
COMMENT ON COLUMN mart.v_task_status.annex IS 'Annex (3 or 4).';
COMMENT ON COLUMN mart.v_task_status.seq IS 'Number within the annex.';
COMMENT ON COLUMN mart.v_task_status.item IS 'Work item heading.';
COMMENT ON COLUMN mart.v_task_status.measure IS 'Measure (推进措施).';
COMMENT ON COLUMN mart.v_task_status.lead_units IS 'Lead units (牵头单位).';
COMMENT ON COLUMN mart.v_task_status.co_units IS 'Cooperating units (配合单位).';
COMMENT ON COLUMN mart.v_task_status.deadline_raw IS 'Deadline as written.';
COMMENT ON COLUMN mart.v_task_status.deadline IS 'Deadline as a date; null when ongoing.';
COMMENT ON COLUMN mart.v_task_status.ongoing IS 'True for 常态化推进.';
COMMENT ON COLUMN mart.v_task_status.days_to_deadline IS 'Days from the month''s end to the deadline (negative = past).';
COMMENT ON COLUMN mart.v_task_status.last_reported_period IS 'Month of the latest progress report up to this month (any unit); null when none.';
COMMENT ON COLUMN mart.v_task_status.last_reported_by IS 'Unit that made it.';
COMMENT ON COLUMN mart.v_task_status.last_status IS 'Its status: not_started | in_progress | completed | blocked.';
COMMENT ON COLUMN mart.v_task_status.last_progress_pct IS 'Its progress, %.';
COMMENT ON COLUMN mart.v_task_status.last_as_of IS 'Date it describes.';
COMMENT ON COLUMN mart.v_task_status.last_notes IS 'Its notes.';
COMMENT ON COLUMN mart.v_task_status.lead_units_not_reported IS 'Lead units with no report on this task for this month.';
COMMENT ON COLUMN mart.v_task_status.state IS 'completed (reported done) | ongoing (常态化) | overdue (deadline before the month''s end) | due_soon (within 30 days after it) | open.';

CREATE VIEW mart.v_unit_reporting AS
WITH periods AS (
    SELECT DISTINCT period FROM mart.coverage_indicator WHERE level = 'city'
), leads AS (
    SELECT DISTINCT u AS unit, t.task_id FROM core.task t CROSS JOIN LATERAL unnest(t.lead_units) AS u
)
SELECT p.period, l.unit, count(*) AS tasks_led, count(tp.task_id) AS tasks_reported,
       count(tp.task_id) > 0 AS reported
FROM periods p
CROSS JOIN leads l
LEFT JOIN core.task_progress tp ON tp.task_id = l.task_id AND tp.unit = l.unit AND tp.period = p.period
GROUP BY p.period, l.unit;
COMMENT ON VIEW mart.v_unit_reporting IS 'Per month and lead unit: how many of its led tasks it reported on that month; reported = false lists the units that did not report.';
COMMENT ON COLUMN mart.v_unit_reporting.period IS 'Reporting month YYYY-MM.';
COMMENT ON COLUMN mart.v_unit_reporting.unit IS 'Lead unit (牵头单位) of at least one task.';
COMMENT ON COLUMN mart.v_unit_reporting.tasks_led IS 'Tasks it leads.';
COMMENT ON COLUMN mart.v_unit_reporting.tasks_reported IS 'Of those, tasks it reported on this month.';
COMMENT ON COLUMN mart.v_unit_reporting.reported IS 'True when it reported on at least one of its tasks this month.';
