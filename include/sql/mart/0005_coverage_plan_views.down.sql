DROP TABLE IF EXISTS mart.circle_typology;
DROP TABLE IF EXISTS mart.candidate_site;
DROP TABLE IF EXISTS mart.missing_category;
