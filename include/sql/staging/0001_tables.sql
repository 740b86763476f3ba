-- staging: validated, typed records, one table per source entity.
CREATE SCHEMA IF NOT EXISTS staging;
COMMENT ON SCHEMA staging IS 'Validated and typed records from each source, categorised; the input of core.';

CREATE TABLE staging.registration (
    uscc             text NOT NULL,
    updated_at       timestamptz NOT NULL,
    load_id          text NOT NULL,
    name             text NOT NULL,
    address          text NOT NULL,
    industry_code    text,
    business_scope   text,
    established_date date NOT NULL,
    approved_date    date,
    status           text NOT NULL,
    is_closed        boolean NOT NULL,
    district_adcode  text,
    community_code   text,
    category_code    text,
    category_rule    text,
    brand            text NOT NULL,
    is_known_brand   boolean NOT NULL,
    PRIMARY KEY (uscc, updated_at)
);
COMMENT ON TABLE staging.registration IS 'Valid registration record versions (one per uscc and update time), categorised and located to a community.';
COMMENT ON COLUMN staging.registration.uscc IS '统一社会信用代码, check digits verified (GB 32100-2015).';
COMMENT ON COLUMN staging.registration.updated_at IS 'Registry update time of this version.';
COMMENT ON COLUMN staging.registration.load_id IS 'Load that brought this version.';
COMMENT ON COLUMN staging.registration.name IS 'Registered name.';
COMMENT ON COLUMN staging.registration.address IS 'Registered address.';
COMMENT ON COLUMN staging.registration.industry_code IS 'GB/T 4754-2017 industry code.';
COMMENT ON COLUMN staging.registration.business_scope IS 'Business scope text.';
COMMENT ON COLUMN staging.registration.established_date IS 'Date the business was established.';
COMMENT ON COLUMN staging.registration.approved_date IS 'Date the registry approved this record.';
COMMENT ON COLUMN staging.registration.status IS 'Registry status word.';
COMMENT ON COLUMN staging.registration.is_closed IS 'True for 注销/吊销/迁出 (no longer operating at this address).';
COMMENT ON COLUMN staging.registration.district_adcode IS 'District code.';
COMMENT ON COLUMN staging.registration.community_code IS 'Community named in the address (community-level location); null when none is named.';
COMMENT ON COLUMN staging.registration.category_code IS 'Business category (业态), see core.category; null when unmapped.';
COMMENT ON COLUMN staging.registration.category_rule IS 'How the category was found: industry (GB/T 4754 code) or keyword (name/scope).';
COMMENT ON COLUMN staging.registration.brand IS 'Name with branch suffixes such as （XX店） and 第N分店 removed.';
COMMENT ON COLUMN staging.registration.is_known_brand IS 'True when the brand is in the known-brands list.';

CREATE TABLE staging.poi (
    snapshot_date  date NOT NULL,
    poi_id         text NOT NULL,
    load_id        text NOT NULL,
    name           text NOT NULL,
    typecode       text,
    typecodes      text[],
    category_code  text,
    lng            double precision NOT NULL,
    lat            double precision NOT NULL,
    lng_gcj        double precision NOT NULL,
    lat_gcj        double precision NOT NULL,
    address        text,
    adcode         text,
    community_code text,
    PRIMARY KEY (snapshot_date, poi_id)
);
COMMENT ON TABLE staging.poi IS 'Valid POIs of each dated harvest, converted to WGS-84 and categorised.';
COMMENT ON COLUMN staging.poi.snapshot_date IS 'Date of the harvest (last day of the period).';
COMMENT ON COLUMN staging.poi.poi_id IS 'AMap POI id.';
COMMENT ON COLUMN staging.poi.load_id IS 'Load that harvested the POI.';
COMMENT ON COLUMN staging.poi.name IS 'POI name.';
COMMENT ON COLUMN staging.poi.typecode IS 'First AMap typecode.';
COMMENT ON COLUMN staging.poi.typecodes IS 'All AMap typecodes of the POI.';
COMMENT ON COLUMN staging.poi.category_code IS 'Business category (业态); null when the typecode is unmapped.';
COMMENT ON COLUMN staging.poi.lng IS 'Longitude, WGS-84 (converted from GCJ-02 by the iterative inverse).';
COMMENT ON COLUMN staging.poi.lat IS 'Latitude, WGS-84.';
COMMENT ON COLUMN staging.poi.lng_gcj IS 'Longitude as AMap gave it (GCJ-02).';
COMMENT ON COLUMN staging.poi.lat_gcj IS 'Latitude as AMap gave it (GCJ-02).';
COMMENT ON COLUMN staging.poi.address IS 'Address.';
COMMENT ON COLUMN staging.poi.adcode IS 'District code.';
COMMENT ON COLUMN staging.poi.community_code IS 'Community of the nearest population point (a proxy until boundaries are loaded).';

CREATE TABLE staging.survey_form (
    upload_id               text PRIMARY KEY,
    circle_code             text NOT NULL,
    as_of                   date NOT NULL,
    operator_types          text[] NOT NULL,
    smart_platform          boolean,
    development_form        text,
    commercial_centres      integer,
    residents_covered_10k   numeric(12,2),
    facility_area_share_pct numeric(6,2)
);
COMMENT ON TABLE staging.survey_form IS 'Header block of each accepted annex-5 circle survey form (试点便民生活圈建设情况调查表).';
COMMENT ON COLUMN staging.survey_form.upload_id IS 'The uploaded workbook (raw.upload).';
COMMENT ON COLUMN staging.survey_form.circle_code IS 'Living circle the form describes.';
COMMENT ON COLUMN staging.survey_form.as_of IS '截至日期 of the form.';
COMMENT ON COLUMN staging.survey_form.operator_types IS '运营主体 ticked: street_community, state_owned, private, professional_operator, self_run.';
COMMENT ON COLUMN staging.survey_form.smart_platform IS 'Whether a smart service platform exists.';
COMMENT ON COLUMN staging.survey_form.development_form IS '发展形态: clustered | street_block | dispersed.';
COMMENT ON COLUMN staging.survey_form.commercial_centres IS '社区商业中心(邻里中心)数量.';
COMMENT ON COLUMN staging.survey_form.residents_covered_10k IS 'Residents covered, 10k persons.';
COMMENT ON COLUMN staging.survey_form.facility_area_share_pct IS 'Community commercial and service floor area / total floor area, %.';

CREATE TABLE staging.survey_category (
    upload_id        text NOT NULL,
    category_code    text NOT NULL,
    outlets          integer,
    employees_10k    numeric(12,2),
    chain_outlets    integer,
    satisfaction_pct numeric(6,2),
    demand_list      text,
    PRIMARY KEY (upload_id, category_code)
);
COMMENT ON TABLE staging.survey_category IS 'Per-category rows of each accepted annex-5 form.';
COMMENT ON COLUMN staging.survey_category.upload_id IS 'The uploaded workbook.';
COMMENT ON COLUMN staging.survey_category.category_code IS 'Business category (业态).';
COMMENT ON COLUMN staging.survey_category.outlets IS '商业网点数量 (个).';
COMMENT ON COLUMN staging.survey_category.employees_10k IS '从业人数, 10k persons.';
COMMENT ON COLUMN staging.survey_category.chain_outlets IS '品牌连锁店数量.';
COMMENT ON COLUMN staging.survey_category.satisfaction_pct IS '居民满意度, %.';
COMMENT ON COLUMN staging.survey_category.demand_list IS '缺什么: residents'' demand list as written.';

CREATE TABLE staging.satisfaction_response (
    upload_id          text NOT NULL,
    row_no             integer NOT NULL,
    circle_code        text NOT NULL,
    community_code     text,
    respondent_hash    text NOT NULL,
    satisfied          boolean NOT NULL,
    score              smallint,
    missing_categories text[],
    PRIMARY KEY (upload_id, row_no)
);
COMMENT ON TABLE staging.satisfaction_response IS 'One row per resident respondent; personal data (phone, name, ID, IP) never reaches the warehouse.';
COMMENT ON COLUMN staging.satisfaction_response.upload_id IS 'The uploaded response export.';
COMMENT ON COLUMN staging.satisfaction_response.row_no IS 'Row in the export.';
COMMENT ON COLUMN staging.satisfaction_response.circle_code IS 'Living circle the respondent named.';
COMMENT ON COLUMN staging.satisfaction_response.community_code IS 'Community the respondent named, when known.';
COMMENT ON COLUMN staging.satisfaction_response.respondent_hash IS 'Salted hash of the respondent''s contact, only to spot repeat respondents.';
COMMENT ON COLUMN staging.satisfaction_response.satisfied IS 'True for 满意 / 非常满意 (or 4-5 on a 5-point scale).';
COMMENT ON COLUMN staging.satisfaction_response.score IS 'Satisfaction on a 1-5 scale.';
COMMENT ON COLUMN staging.satisfaction_response.missing_categories IS 'Categories the respondent says are missing (缺什么).';
