"""The coverage stage: read core, compute access and indicators for a month, write mart."""
from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from lifecircle import citydata, refdata
from lifecircle.coverage.access import ACCESS_COLUMNS, compute_access
from lifecircle.coverage.indicators import compute_indicators, units
from lifecircle.coverage.network import build_graph
from lifecircle.period import Month
from lifecircle.quality import checks as table_checks
from lifecircle.quality import gate, gx_runner
from lifecircle.warehouse.bulk import replace_rows
from lifecircle.warehouse.engine import get_engine, read_frame

log = logging.getLogger(__name__)



def latest_snapshot(conn, period_end) -> object | None:
    return conn.execute(sa.text("SELECT max(snapshot_date) FROM core.outlet_location WHERE snapshot_date <= :d"),
                        {"d": period_end}).scalar()


def compute(period: str, city: str | None = None) -> dict:
    """Coverage and indicators for ``period`` from the outlets open at its end."""
    month = Month.parse(period)
    cfg = refdata.load_city(city)
    engine = get_engine()
    with engine.connect() as conn:
        comms = read_frame(conn, "SELECT * FROM core.community ORDER BY community_code")
        points = read_frame(conn, "SELECT * FROM core.population_point ORDER BY point_id")
        cats = read_frame(conn, "SELECT * FROM core.category ORDER BY annex5_order")
        divisions = read_frame(conn, "SELECT * FROM core.division")
        circles = read_frame(conn, "SELECT * FROM core.circle ORDER BY circle_code")
        members = read_frame(conn, "SELECT * FROM core.circle_member")
        snapshot = latest_snapshot(conn, month.end)
        located = read_frame(conn, "SELECT category_code, lng, lat, community_code FROM core.outlet_location "
                              "WHERE snapshot_date = :d ORDER BY poi_id", d=snapshot)
        open_outlets = read_frame(conn, """SELECT community_code, is_chain FROM core.outlet_history
            WHERE is_open AND valid_from <= :d AND (valid_to IS NULL OR valid_to > :d) AND community_code IS NOT NULL""",
                             d=month.end)
        satisfaction = read_frame(conn, "SELECT circle_code, responses, satisfied FROM core.circle_satisfaction WHERE period = :p",
                             p=str(month))
        surveys = read_frame(conn, "SELECT circle_code, facility_area_share_pct FROM core.circle_survey WHERE period = :p",
                        p=str(month))
    net = citydata.network(city)
    graph = build_graph(*net) if net is not None else None
    access, flags = compute_access(
        comms, points, located, cats, graph, walking_speed=float(cfg.get("walking_speed_m_per_min", 80)),
        detour_factor=float(cfg.get("detour_factor", 1.3)),
        presence_share=float(cfg.get("presence_min_population_share", 0.5)))
    built = set(circles.loc[circles["build_year"].fillna(9999).astype(int) <= month.end.year, "circle_code"])
    indicators = compute_indicators(str(month), access, flags, comms, units(comms, divisions, circles, members),
                                    cats, open_outlets, located, satisfaction, surveys, built)
    checks = gx_runner.validate_dataframe(access, "mart_community_category_access")
    with engine.connect() as conn:
        # Inputs' freshness, reported (warning): coverage still runs on the latest data
        # each source has, and the report shows which source is behind.
        checks += [table_checks.freshness(conn, source, str(month), "warning")
                   for source in ("registrations", "pois", "uploads")]
    access.insert(0, "period", str(month))
    dq = gate.gate(str(month), "coverage", "mart.community_category_access", checks)
    with engine.begin() as conn:
        replace_rows(conn, "mart.community_category_access", access, "period = :p", {"p": str(month)},
                     ["period", *ACCESS_COLUMNS])
        replace_rows(conn, "mart.coverage_indicator", indicators, "period = :p", {"p": str(month)})
    city_row = indicators[(indicators["level"] == "city")].set_index("indicator")["value"]
    return {"period": str(month), "snapshot": str(snapshot), "method": "network" if graph is not None else "approximate",
            "communities_covered_share": city_row.get("communities_covered_share"),
            "residents_covered_share": city_row.get("residents_covered_share"),
            "indicators": len(indicators), "dq_failed": dq["failed"]}
