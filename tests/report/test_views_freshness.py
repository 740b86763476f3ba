"""Analysts' mart views (documented, commented), the task tracker read from them, and the
freshness statements (a stale source or an old map snapshot is said so)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.fixtures.tiny_city import MONTH

pytestmark = pytest.mark.integration
VIEWS = ("v_city_progress", "v_circle_cards", "v_community_gaps", "v_task_status", "v_unit_reporting")


@pytest.fixture(scope="module")
def conn(built_month):
    built_month["make"]()
    with built_month["engine"].connect() as c:
        yield c


def test_views_exist_and_are_commented(conn):
    rows = conn.execute(sa.text("""SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL,
            bool_and(col_description(c.oid, a.attnum) IS NOT NULL)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'mart' AND c.relkind = 'v' GROUP BY c.relname, c.oid ORDER BY 1""")).all()
    assert {r[0] for r in rows} == set(VIEWS)
    assert all(r[1] and r[2] for r in rows), rows


def test_views_are_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs/mart_views.md").read_text(encoding="utf-8")
    for v in VIEWS:
        assert f"mart.{v}" in doc


def test_city_progress_view(conn):
    row = conn.execute(sa.text("SELECT * FROM mart.v_city_progress WHERE period = :p AND indicator = "
                               "'communities_covered_share'"), {"p": MONTH}).mappings().one()
    assert row["city_name"] == "测试市" and float(row["target_value"]) == 0.7 and row["months_to_due"] == 7


def test_community_gaps_and_circle_cards(conn):
    gaps = conn.execute(sa.text("SELECT community_code, category_code, residents_lacking FROM mart.v_community_gaps "
                                "WHERE period = :p ORDER BY 1, 2"), {"p": MONTH}).all()
    assert gaps == [("990101001003", "convenience_store", 3000), ("990101001003", "pharmacy", 3000)]
    card = conn.execute(sa.text("SELECT * FROM mart.v_circle_cards WHERE period = :p"), {"p": MONTH}).mappings().one()
    assert card["circle_code"] == "TC01" and card["member_communities"] == 2 and card["missing_categories"] == []
    assert float(card["communities_covered_share"]) == 1.0


def test_task_status_view(conn):
    rows = {r["task_id"]: r for r in conn.execute(sa.text(
        "SELECT * FROM mart.v_task_status WHERE period = :p"), {"p": MONTH}).mappings()}
    assert rows["A3-01"]["state"] == "overdue" and rows["A3-01"]["days_to_deadline"] == -61
    assert rows["A4-01"]["state"] == "ongoing"
    assert rows["A3-01"]["lead_units_not_reported"] == ["市商务局"]
    units = conn.execute(sa.text("SELECT unit, tasks_led, reported FROM mart.v_unit_reporting WHERE period = :p"),
                         {"p": MONTH}).all()
    assert units == [("市商务局", 2, False)]


def test_completed_report_clears_overdue(conn, built_month):
    with built_month["engine"].begin() as c:
        c.execute(sa.text("""INSERT INTO core.task_progress VALUES
            ('A3-01', '市商务局', '2024-04', 'completed', 100, '2024-04-30', '已完成')"""))
    try:
        row = conn.execute(sa.text("SELECT state, last_reported_period FROM mart.v_task_status "
                                   "WHERE period = :p AND task_id = 'A3-01'"), {"p": MONTH}).one()
        assert tuple(row) == ("completed", "2024-04")
        # reported in April, not in May: still listed as not reported this month
        assert conn.execute(sa.text("SELECT reported FROM mart.v_unit_reporting WHERE period = :p"),
                            {"p": MONTH}).scalar() is False
    finally:
        with built_month["engine"].begin() as c:
            c.execute(sa.text("DELETE FROM core.task_progress"))


def test_freshness_states_the_snapshot_used(conn):
    from lifecircle.period import Month
    from lifecircle.report.build import freshness

    may = {f["source"]: f for f in freshness(conn, Month.parse(MONTH))}
    assert may["registrations"]["state"] == "fresh" and may["pois"]["state"] == "fresh"
    assert may["poi_snapshot"]["state"] == "fresh"
    june = {f["source"]: f for f in freshness(conn, Month.parse("2024-06"))}
    assert june["registrations"]["state"] == "stale" and "2024-05" in june["registrations"]["text"]
    assert june["poi_snapshot"]["state"] == "stale" and "2024-05-31" in june["poi_snapshot"]["text"]
    april = {f["source"]: f for f in freshness(conn, Month.parse("2024-04"))}
    assert april["registrations"]["state"] == "missing" and april["poi_snapshot"]["state"] == "missing"
