"""Analysts' mart views (documented, commented), the task tracker read from them, the
freshness statements (a stale source or an old map snapshot is said so), and the plan
tables of issue 7 (缺什么 / 补什么 / typology) with the report sections that show them —
all on the tiny city, values worked by hand (tests/fixtures/tiny_city.py)."""
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


# ---------------------------------------------------------------- plan tables (issue 7)
A, B, C = "990101001001", "990101001002", "990101001003"


def test_missing_category_hand_worked(conn):
    """TC01 = A + B has every required category; A (x = 200) is 1,600 m from the bookstore
    (threshold 1,200) and TC01's annex-5 form asks for one -> listed, not required. C is in
    no circle and lacks both required categories (3,000 residents each)."""
    rows = conn.execute(sa.text("""SELECT circle_code, community_code, category_code, required, residents_affected,
            demanded_by_survey, survey_mentions, annex5_demand, method FROM mart.missing_category
        WHERE period = :p ORDER BY circle_code NULLS LAST, community_code, category_code"""), {"p": MONTH}).all()
    assert [tuple(r) for r in rows] == [
        ("TC01", A, "bookstore", False, 1000, True, 0, "缺少新式书店", "network"),
        (None, C, "convenience_store", True, 3000, False, 0, None, "network"),
        (None, C, "pharmacy", True, 3000, False, 0, None, "network"),
    ]


def test_no_candidate_sites_without_a_circle_gap(conn):
    # candidates are for required categories missing in a circle: TC01 lacks none
    assert conn.execute(sa.text("SELECT count(*) FROM mart.candidate_site WHERE period = :p"), {"p": MONTH}).scalar() == 0


def test_circle_typology_hand_worked(conn):
    """TC01's map outlets: two convenience stores and the pharmacy (all required categories),
    no quality category; chain share 2/3; satisfaction 75 % from 4 responses (< 50); no smart
    platform -> 基础型, and the reasons say why not 提升型 / 品质型."""
    row = conn.execute(sa.text("SELECT * FROM mart.circle_typology WHERE period = :p"), {"p": MONTH}).mappings().one()
    assert (row["circle_code"], row["grade_code"], row["grade_label"], row["grade_rank"]) == ("TC01", "basic", "基础型", 1)
    failed = sorted(((r["grade"], r["condition"]), r["actual"]) for r in row["reasons"])
    assert [k for k, _ in failed] == [("improved", "min_quality_categories"), ("quality", "min_quality_categories"),
                                      ("quality", "min_satisfaction_pct"), ("quality", "require_smart_platform")]
    assert [a for _, a in failed] == [0, 0, {"satisfaction_pct": 75.0, "responses": 4, "min_responses": 50}, False]
    assert row["facts"]["categories_present"] == ["convenience_store", "pharmacy"]
    assert row["facts"]["chain_share"] == pytest.approx(0.6667)


@pytest.mark.parametrize("level, code, indicator, expected, method", [
    ("circle", "TC01", "typology", 1.0, "rules"),
    ("circle", "TC01", "reported_outlets", 3.0, "survey"),             # annex 5: 2 + 1 + 0
    ("circle", "TC01", "reported_employees_10k", 0.03, "survey"),
    ("circle", "TC01", "reported_chain_share", 0.6667, "survey"),      # 2 chain / 3
    ("city", "990100", "reported_commercial_centres", 1.0, "survey"),
    ("city", "990100", "development_form_street_block_share", 1.0, "survey"),
    ("city", "990100", "development_form_clustered_share", 0.0, "survey"),
    ("city", "990100", "development_forms_each_min_share_met", 0.0, "survey"),
    ("circle", "TC01", "facility_m2_per_100_households", None, "no_data"),
    # the tiny taxonomy has no breakfast, repair, elderly care or childcare: not judged
    ("city", "990100", "store_breakfast_share", None, "no_data"),
])
def test_plan_indicators_hand_worked(conn, level, code, indicator, expected, method):
    row = conn.execute(sa.text("""SELECT value, method FROM mart.coverage_indicator
        WHERE period = :p AND level = :l AND unit_code = :u AND indicator = :i"""),
                       {"p": MONTH, "l": level, "u": code, "i": indicator}).one()
    assert (None if row[0] is None else float(row[0])) == (None if expected is None else pytest.approx(expected))
    assert row[1] == method


def test_plan_tables_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs/mart_views.md").read_text(encoding="utf-8")
    for table in ("mart.missing_category", "mart.candidate_site", "mart.circle_typology"):
        assert table in doc


def test_report_shows_plan_sections(built_month):
    from pathlib import Path

    html = Path(built_month["make"]()["report"]).read_text(encoding="utf-8")
    assert 'id="typology"' in html and "基础型" in html and "未达提升型：品质提升类业态种类 0 类，需 ≥3 类" in html
    assert 'id="development-forms"' in html and "街区式(街坊式)</td><td>1</td><td>100.0%" in html
    assert 'id="pairs"' in html and "无数据" in html
    assert 'id="facility-m2-note"' in html
    assert "新式书店（1个社区；调查表：缺少新式书店）" in html          # wished for, not required
    assert 'class="candidate"' not in html


def test_report_draws_candidate_sites(built_month):
    """A circle gap with a candidate site (written into the mart as coverage would): the
    card lists the site and the map draws it."""
    from pathlib import Path

    from tests.fixtures.tiny_city import LAT0, lng_at

    engine = built_month["engine"]
    with engine.begin() as c:
        c.execute(sa.text("""INSERT INTO mart.missing_category VALUES
            (:p, 'TC01', :b, 'convenience_store', true, 500, false, 0, NULL, 'network')"""), {"p": MONTH, "b": B})
        c.execute(sa.text("""INSERT INTO mart.candidate_site VALUES
            (:p, 'TC01', 'convenience_store', 1, 12, :lng, :lat, 500, 500, 500, 'network')"""),
                  {"p": MONTH, "lng": lng_at(1200), "lat": LAT0})
    try:
        html = Path(built_month["make"]()["report"]).read_text(encoding="utf-8")
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM mart.candidate_site WHERE period = :p"), {"p": MONTH})
            c.execute(sa.text("DELETE FROM mart.missing_category WHERE period = :p AND circle_code = 'TC01' "
                              "AND category_code = 'convenience_store'"), {"p": MONTH})
    assert html.count('class="candidate"') == 1 and "便利店1" in html
    assert "候选点位1（路网节点 12，" in html and "新增覆盖 500 人，累计 500 / 500 人" in html
    assert "缺什么（步行范围内缺少的基本保障类业态）：</strong>便利店（1个社区）" in html


def test_rerunning_coverage_leaves_plan_tables_identical(built_month):
    from lifecircle.coverage import run
    from lifecircle.warehouse.checksums import checksums

    tables = ("mart.missing_category", "mart.candidate_site", "mart.circle_typology", "mart.coverage_indicator")
    before = checksums(built_month["engine"], tables)
    run.compute(MONTH)
    assert checksums(built_month["engine"], tables) == before
