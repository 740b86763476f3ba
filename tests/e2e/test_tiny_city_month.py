"""One month of the tiny city through all five DAGs (one ``dag.test()`` each), on real
PostgreSQL and local HTTP servers; every indicator checked against hand-worked values
(see tests/fixtures/tiny_city.py)."""
from __future__ import annotations

import os

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.fixtures.tiny_city import EXPECTED, LAT0, MONTH, lng_at, uscc

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
DAGS = ("lifecircle_registrations", "lifecircle_pois", "lifecircle_surveys", "lifecircle_coverage", "lifecircle_report")


@pytest.fixture(scope="module")
def month_run(warehouse_url, tiny_city, airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from lifecircle.devservers import AmapServer, RegistryServer
    from lifecircle.period import Month

    data = tiny_city["citydata"]
    bag = DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    with RegistryServer(data / "registry/registrations.jsonl", "t0ken-e2e") as reg, \
            AmapServer(data / "amap/pois.jsonl", "k3y-e2e", as_of=Month.parse(MONTH).end) as amap:
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:t0ken-e2e@127.0.0.1:{reg.port}"
        os.environ["AIRFLOW_CONN_AMAP_API"] = f"http://:k3y-e2e@127.0.0.1:{amap.port}"

        def run_month() -> dict:
            return {dag_id: str(bag.get_dag(dag_id).test(run_conf={"month": MONTH}).state) for dag_id in DAGS}

        yield {"states": run_month(), "run_month": run_month, "engine": sa.create_engine(warehouse_url)}


@pytest.mark.parametrize("dag_id", DAGS)
def test_each_dag_succeeds(month_run, dag_id):
    assert month_run["states"][dag_id] == "success"


def _indicators(engine) -> pd.DataFrame:
    return pd.read_sql("SELECT * FROM mart.coverage_indicator WHERE period = %(p)s", engine, params={"p": MONTH})


@pytest.mark.parametrize("unit", ["city", "circle:TC01", "community:990101001003"])
def test_indicators_match_hand_worked_values(month_run, unit):
    df = _indicators(month_run["engine"])
    level, _, code = unit.partition(":")
    rows = df[(df["level"] == level) & ((df["unit_code"] == code) if code else True)].set_index("indicator")
    for indicator, expected in EXPECTED[unit].items():
        assert float(rows.at[indicator, "value"]) == pytest.approx(expected, abs=1e-4), indicator


def test_walking_distances_match_hand_worked_values(month_run):
    df = pd.read_sql("SELECT * FROM mart.community_category_access WHERE period = %(p)s", month_run["engine"],
                     params={"p": MONTH}).set_index(["community_code", "category_code"])
    for key, metres in EXPECTED["access"].items():
        assert float(df.at[key, "nearest_m"]) == pytest.approx(metres, abs=0.5), key
    assert df["method"].eq("network").all()


def test_rejected_records_are_quarantined_not_lost(month_run):
    with month_run["engine"].connect() as conn:
        reasons = conn.execute(sa.text("SELECT reason_code FROM quarantine.registration ORDER BY 1")).scalars().all()
        uploads = dict(conn.execute(sa.text("SELECT file_name, status FROM raw.upload")).all())
    # the closed shop's address geocodes only to the district: both its versions are on the
    # analysts' list, and it is still published (see test_registrations_are_geocoded)
    assert reasons == ["geocode_too_coarse", "geocode_too_coarse", "uscc_check_digit"]
    assert uploads["notes.txt"] == "rejected"
    assert uploads["annex5_TC01_2024-05.xlsx"] == "accepted"
    assert uploads["satisfaction_TC01_2024-05.csv"] == "accepted"


def test_registrations_are_geocoded(month_run):
    """The four outlets' addresses reach core.outlet_history as WGS-84 points within 1 m of
    their street node; the closed shop's district-level answer is kept as its level only."""
    from lifecircle.geo.gcj02 import haversine_m

    with month_run["engine"].connect() as conn:
        rows = {r.uscc: r for r in conn.execute(sa.text(
            "SELECT uscc, lng, lat, geocode_level FROM core.outlet_history ORDER BY uscc, valid_from")).all()}
        details = conn.execute(sa.text("SELECT details FROM raw.load WHERE load_id = 'registrations:2024-05'")).scalar()
    for serial, x in EXPECTED["geocode"].items():
        row = rows[uscc(serial)]
        assert row.geocode_level == "门牌号"
        assert haversine_m(row.lng, row.lat, lng_at(x), LAT0) < 1.0, serial
    closed = rows[uscc(5)]
    assert (closed.lng, closed.lat, closed.geocode_level) == (None, None, "区县")
    assert details["geocode_ok"] == 4 and details["geocode_too_coarse"] == 1 and details["geocode_quarantined"] == 2


def test_progress_and_report(month_run, tiny_city):
    prog = pd.read_sql("SELECT * FROM mart.monthly_progress WHERE period = %(p)s AND level = 'city'",
                       month_run["engine"], params={"p": MONTH}).set_index("indicator")
    assert prog.at["communities_covered_share", "target_value"] == pytest.approx(0.7)
    assert prog.at["communities_covered_share", "status"] in ("at_risk", "on_track")
    assert prog.at["residents_covered_share", "status"] == "met"
    from lifecircle import settings
    html = (settings.reports_dir() / MONTH / "report.html").read_text(encoding="utf-8")
    assert "66.7%" in html and "甲乙一刻钟便民生活圈" in html and "<svg" in html


def test_pois_matched_to_registrations_and_history(month_run):
    """Each of the four map outlets is its registration (same name, same community); the
    history lists the four POIs, open; the match rate is in raw.load.details."""
    with month_run["engine"].connect() as conn:
        matches = dict(conn.execute(sa.text("SELECT poi_id, uscc FROM core.poi_registration_match")).all())
        history = conn.execute(sa.text("SELECT count(*), count(closed_on) FROM core.poi_history")).one()
        details = conn.execute(sa.text("SELECT details FROM raw.load WHERE load_id = 'pois:2024-05'")).scalar()
    assert matches == {f"B0FF{i:06d}": uscc(i) for i in (1, 2, 3, 4)}
    assert tuple(history) == (4, 0)
    assert details["registration_matches"] == 4 and details["registration_match_rate"] == 1.0


def test_rerunning_the_month_leaves_the_warehouse_identical(month_run):
    """All five DAGs again for the same month: every mart table (and the core and
    quarantine tables they come from) has the same rows and content checksum."""
    from lifecircle.warehouse.checksums import MART_TABLES, checksums

    tables = MART_TABLES + ("core.outlet_history", "core.outlet_location", "core.circle_survey",
                            "core.circle_satisfaction", "quarantine.registration", "quarantine.upload",
                            "staging.registration", "staging.poi", "core.poi_history", "core.poi_registration_match",
                            "raw.geocode_cache")
    before = checksums(month_run["engine"], tables)
    assert set(month_run["run_month"]().values()) == {"success"}
    assert checksums(month_run["engine"], tables) == before
