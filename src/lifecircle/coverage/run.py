"""The coverage stage: read core, compute access, indicators and the plan views for a
month, check them, write mart (each table's slice for the period replaced)."""
from __future__ import annotations

import json
import logging

import pandas as pd
import sqlalchemy as sa

from lifecircle import citydata, refdata
from lifecircle.coverage import plan_views, typology
from lifecircle.coverage.access import ACCESS_COLUMNS, compute_access
from lifecircle.coverage.candidates import CANDIDATE_COLUMNS, DEFAULT_TOP_K, candidate_sites
from lifecircle.coverage.indicators import compute_indicators, units
from lifecircle.coverage.network import build_graph
from lifecircle.period import Month
from lifecircle.quality import checks as table_checks
from lifecircle.quality import gate, gx_runner
from lifecircle.warehouse.bulk import replace_rows
from lifecircle.warehouse.engine import get_engine, read_frame

log = logging.getLogger(__name__)

# Satisfaction responses received by the period's end (as core.circle_satisfaction counts
# them, include/sql/core/publish_surveys.sql): distinct respondents naming each category.
MENTIONS_SQL = """
WITH received AS (
    SELECT r.circle_code, r.respondent_hash, r.missing_categories FROM staging.satisfaction_response r
    JOIN raw.upload u ON u.upload_id = r.upload_id AND u.status IN ('accepted', 'partly_accepted')
    WHERE CASE WHEN r.submitted_at IS NOT NULL THEN r.submitted_at < CAST(:period_end AS date) + 1
               ELSE u.period <= :p END
)
SELECT circle_code, category_code, count(DISTINCT respondent_hash) AS respondents
FROM received CROSS JOIN LATERAL unnest(missing_categories) AS category_code
GROUP BY 1, 2 ORDER BY 1, 2"""


def latest_snapshot(conn, period_end) -> object | None:
    return conn.execute(sa.text("SELECT max(snapshot_date) FROM core.outlet_location WHERE snapshot_date <= :d"),
                        {"d": period_end}).scalar()


def _json_cols(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """jsonb columns as JSON text (COPY would turn a Python list into a PostgreSQL array)."""
    out = df.copy()
    for c in cols:
        out[c] = [json.dumps(v, ensure_ascii=False, sort_keys=True) for v in out[c]]
    return out


def _read_inputs(conn, month: Month) -> dict[str, pd.DataFrame]:
    p, end = str(month), month.end
    d = {
        "comms": read_frame(conn, "SELECT * FROM core.community ORDER BY community_code"),
        "points": read_frame(conn, "SELECT * FROM core.population_point ORDER BY point_id"),
        "cats": read_frame(conn, "SELECT * FROM core.category ORDER BY annex5_order"),
        "divisions": read_frame(conn, "SELECT * FROM core.division"),
        "circles": read_frame(conn, "SELECT * FROM core.circle ORDER BY circle_code"),
        "members": read_frame(conn, "SELECT * FROM core.circle_member ORDER BY circle_code, community_code"),
        "open_outlets": read_frame(conn, """SELECT community_code, is_chain FROM core.outlet_history
            WHERE is_open AND valid_from <= :d AND (valid_to IS NULL OR valid_to > :d) AND community_code IS NOT NULL""",
                                   d=end),
        "satisfaction": read_frame(conn, "SELECT circle_code, responses, satisfied FROM core.circle_satisfaction "
                                         "WHERE period = :p ORDER BY circle_code", p=p),
        "surveys": read_frame(conn, """SELECT circle_code, upload_id, smart_platform, development_form, commercial_centres,
            residents_covered_10k, facility_area_share_pct FROM core.circle_survey WHERE period = :p ORDER BY circle_code""",
                              p=p),
        # per-category rows of the form core.circle_survey picked for the period
        "survey_cats": read_frame(conn, """SELECT s.circle_code, c.category_code, c.outlets, c.employees_10k,
            c.chain_outlets, c.demand_list FROM core.circle_survey s JOIN staging.survey_category c USING (upload_id)
            WHERE s.period = :p ORDER BY s.circle_code, c.category_code""", p=p),
        "mentions": read_frame(conn, MENTIONS_SQL, p=p, period_end=end),
    }
    d["snapshot"] = latest_snapshot(conn, end)
    d["located"] = read_frame(conn, "SELECT category_code, lng, lat, community_code FROM core.outlet_location "
                                    "WHERE snapshot_date = :d ORDER BY poi_id", d=d["snapshot"])
    return d


def compute(period: str, city: str | None = None) -> dict:
    """Coverage, indicators and plan views for ``period`` from the outlets open at its end."""
    month = Month.parse(period)
    p = str(month)
    cfg = refdata.load_city(city)
    engine = get_engine()
    with engine.connect() as conn:
        d = _read_inputs(conn, month)
    comms, cats, members = d["comms"], d["cats"], d["members"]
    found = citydata.network_with_summary(city)
    graph = build_graph(*found[:2]) if found is not None else None
    access, flags = compute_access(
        comms, d["points"], d["located"], cats, graph, walking_speed=float(cfg.get("walking_speed_m_per_min", 80)),
        detour_factor=float(cfg.get("detour_factor", 1.3)),
        presence_share=float(cfg.get("presence_min_population_share", 0.5)))
    built = set(d["circles"].loc[d["circles"]["build_year"].fillna(9999).astype(int) <= month.end.year, "circle_code"])
    unit_list = units(comms, d["divisions"], d["circles"], members)
    indicators = compute_indicators(p, access, flags, comms, unit_list, cats, d["open_outlets"], d["located"],
                                    d["satisfaction"], d["surveys"], built)

    # 缺什么, 补什么, typology and the plans' other views
    demands = plan_views.survey_demands(d["survey_cats"], cats)
    missing = plan_views.missing_categories(access, comms, members, cats, demands, d["mentions"])
    gaps = missing[missing["required"] & missing["circle_code"].notna()]
    thresholds = dict(zip(cats["category_code"], cats["threshold_m"].astype(float)))
    node_ids = found[0]["node_id"].to_numpy() if graph is not None and len(found[0]) == graph.n else None
    sites = candidate_sites(gaps, members, d["points"], d["located"], thresholds, graph, node_ids=node_ids,
                            detour_factor=float(cfg.get("detour_factor", 1.3)),
                            top_k=int((cfg.get("candidates") or {}).get("top_k", DEFAULT_TOP_K)))
    rules = typology.validate_rules(refdata.load_typology(cfg), str(refdata.typology_path(cfg)))
    chain = indicators[(indicators["level"] == "circle") & (indicators["indicator"] == "chain_share")]
    facts = typology.circle_facts(list(d["circles"]["circle_code"]), members, d["located"],
                                  dict(zip(chain["unit_code"], chain["value"])), d["satisfaction"], d["surveys"])
    grades = typology.typology_table(rules, facts, cats, int(cfg.get("satisfaction_min_responses", 50)))
    indicators = pd.concat([
        indicators,
        plan_views.survey_indicators(p, unit_list, d["survey_cats"], d["surveys"]),
        plan_views.development_form_indicators(p, unit_list, d["surveys"],
                                               float(cfg.get("development_form_min_share",
                                                             plan_views.DEVELOPMENT_FORM_MIN_SHARE))),
        plan_views.pair_indicators(p, unit_list, access, plan_views.load_pairs(plan_views.pairs_path(cfg)), cats),
        plan_views.typology_indicators(p, unit_list, grades),
    ], ignore_index=True)
    grades = _json_cols(grades, ["reasons", "facts"])

    checks = gx_runner.validate_dataframe(access, "mart_community_category_access")
    with engine.connect() as conn:
        # Inputs' freshness, reported (warning): coverage still runs on the latest data
        # each source has, and the report shows which source is behind.
        checks += [table_checks.freshness(conn, source, p, "warning")
                   for source in ("registrations", "pois", "uploads")]
    failed = gate.gate(p, "coverage", "mart.community_category_access", checks)["failed"]
    for table, frame in (("mart.missing_category", missing), ("mart.candidate_site", sites),
                         ("mart.circle_typology", grades)):
        failed += gate.gate(p, "coverage", table, gx_runner.validate_dataframe(frame, table.replace(".", "_")))["failed"]
    access.insert(0, "period", p)
    with engine.begin() as conn:
        replace_rows(conn, "mart.community_category_access", access, "period = :p", {"p": p}, ["period", *ACCESS_COLUMNS])
        replace_rows(conn, "mart.coverage_indicator", indicators, "period = :p", {"p": p})
        replace_rows(conn, "mart.missing_category", missing.assign(period=p), "period = :p", {"p": p},
                     ["period", *plan_views.MISSING_COLUMNS])
        replace_rows(conn, "mart.candidate_site", sites.assign(period=p), "period = :p", {"p": p},
                     ["period", *CANDIDATE_COLUMNS])
        replace_rows(conn, "mart.circle_typology", grades.assign(period=p), "period = :p", {"p": p},
                     ["period", *typology.TYPOLOGY_COLUMNS])
    city_row = indicators[(indicators["level"] == "city")].set_index("indicator")["value"]
    return {"period": p, "snapshot": str(d["snapshot"]), "method": "network" if graph is not None else "approximate",
            "communities_covered_share": city_row.get("communities_covered_share"),
            "residents_covered_share": city_row.get("residents_covered_share"),
            "indicators": len(indicators), "missing_categories": len(missing), "candidate_sites": len(sites),
            "typology": {k: int(v) for k, v in grades["grade_code"].value_counts().sort_index().items()},
            "network": None if found is None else {k: found[2].get(k) for k in
                                                   ("source", "cache", "nodes", "edges", "dropped_nodes", "split_edges")},
            "dq_failed": failed}
