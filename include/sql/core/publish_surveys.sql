-- Circle survey figures as of the period's end: the latest accepted annex-5 form per circle,
-- and satisfaction from every response received up to the period (repeat respondents once).
DELETE FROM core.circle_survey WHERE period = :period;

INSERT INTO core.circle_survey (period, circle_code, upload_id, as_of, operator_types, smart_platform,
    development_form, commercial_centres, residents_covered_10k, facility_area_share_pct, satisfaction_pct, demand_list)
SELECT DISTINCT ON (f.circle_code)
       :period, f.circle_code, f.upload_id, f.as_of, f.operator_types, f.smart_platform, f.development_form,
       f.commercial_centres, f.residents_covered_10k, f.facility_area_share_pct,
       (SELECT round(avg(c.satisfaction_pct), 2) FROM staging.survey_category c WHERE c.upload_id = f.upload_id),
       (SELECT string_agg(c.demand_list, '；' ORDER BY c.category_code) FROM staging.survey_category c
         WHERE c.upload_id = f.upload_id AND coalesce(c.demand_list, '') <> '')
FROM staging.survey_form f
JOIN raw.upload u ON u.upload_id = f.upload_id AND u.status IN ('accepted', 'partly_accepted')
WHERE f.as_of <= :period_end
ORDER BY f.circle_code, f.as_of DESC, f.upload_id;

DELETE FROM core.circle_satisfaction WHERE period = :period;

INSERT INTO core.circle_satisfaction (period, circle_code, responses, satisfied, satisfaction_pct, sample_ok, repeat_respondents)
WITH received AS (
    SELECT r.* FROM staging.satisfaction_response r
    JOIN raw.upload u ON u.upload_id = r.upload_id AND u.status IN ('accepted', 'partly_accepted')
    -- submitted by the period's end; exports without times count from the period they arrived in
    WHERE CASE WHEN r.submitted_at IS NOT NULL THEN r.submitted_at < CAST(:period_end AS date) + 1
               ELSE u.period <= :period END
), per_person AS (
    SELECT circle_code, respondent_hash, bool_or(satisfied) AS satisfied, count(*) AS answers
    FROM received GROUP BY circle_code, respondent_hash
)
SELECT :period, circle_code, count(*), count(*) FILTER (WHERE satisfied),
       round(100.0 * count(*) FILTER (WHERE satisfied) / count(*), 2),
       count(*) >= :min_responses, sum(answers - 1)
FROM per_person GROUP BY circle_code;
