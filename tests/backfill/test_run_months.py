"""Back-fill runner (tools/run_months.py) on the tiny city: three consecutive months in one
process through its real entry point (``main()``), a re-run that must leave the marts
identical, and a failing DAG that must stop the runner non-zero, naming month and DAG.

The module gets its own warehouse database and state folder, so the months it loads do
not mix with the other tests' (registrations load incrementally by month)."""
from __future__ import annotations

import importlib.util
import os

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
MONTHS = ["2024-04", "2024-05", "2024-06"]
TOKEN, KEY = "t0ken-backfill", "k3y-backfill"
ENV_KEYS = ("AIRFLOW_CONN_WAREHOUSE_DEFAULT", "AIRFLOW_CONN_REGISTRY_API", "AIRFLOW_CONN_AMAP_API",
            "LIFECIRCLE_AMAP_KEY", "LIFECIRCLE_STATE_DIR")


def _load_runner():
    spec = importlib.util.spec_from_file_location("run_months", REPO / "tools" / "run_months.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def backfill(warehouse_url, tiny_city, airflow_db, tmp_path_factory):
    """Own database (same server) + own state folder; registry served here, AMap by the
    runner (``--amap-data``); then the three months through ``main()``."""
    from lifecircle.devservers import RegistryServer
    from lifecircle.warehouse import migrate
    from lifecircle.warehouse.engine import _engine

    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    base_db = sa.engine.make_url(warehouse_url).database
    own_db = f"{base_db}_bf"
    admin = sa.create_engine(warehouse_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own_db}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{own_db}"'))
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = saved["AIRFLOW_CONN_WAREHOUSE_DEFAULT"].replace(
        f"/{base_db}", f"/{own_db}")
    state = tmp_path_factory.mktemp("backfill-state")
    os.environ["LIFECIRCLE_STATE_DIR"] = str(state)
    os.environ["LIFECIRCLE_AMAP_KEY"] = KEY
    migrate.upgrade()
    engine = sa.create_engine(warehouse_url.replace(f"/{base_db}", f"/{own_db}"))
    runner = _load_runner()
    amap_data = str(tiny_city["citydata"] / "amap/pois.jsonl")
    try:
        with RegistryServer(tiny_city["citydata"] / "registry/registrations.jsonl", TOKEN) as reg:
            os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:{TOKEN}@127.0.0.1:{reg.port}"

            def run(months, **kw) -> int:
                return runner.main([*months, "--amap-data", amap_data])

            rc = run(MONTHS)
            yield {"rc": rc, "run": run, "engine": engine, "state": state, "amap_data": amap_data,
                   "runner": runner}
    finally:
        engine.dispose()
        _engine.cache_clear()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own_db}" WITH (FORCE)'))
        admin.dispose()


def test_three_months_succeed_with_one_report_each(backfill):
    assert backfill["rc"] == 0
    for m in MONTHS:
        assert (backfill["state"] / "reports" / m / "report.html").is_file(), m
        logs = backfill["state"] / "logs" / m
        assert sorted(p.name for p in logs.glob("*.log")) == sorted(f"{d}.log" for d in backfill["runner"].DAG_ORDER)


def test_coverage_indicator_has_the_three_periods(backfill):
    with backfill["engine"].connect() as conn:
        periods = conn.execute(sa.text(
            "SELECT DISTINCT period FROM mart.coverage_indicator WHERE level = 'city' ORDER BY period")).scalars().all()
        registered = dict(conn.execute(sa.text(
            "SELECT period, value FROM mart.coverage_indicator WHERE level = 'city' AND indicator = 'registered_outlets'"
        )).all())
    assert periods == MONTHS
    # the shop opened on 2024-06-02 counts from June on: each month saw its own world
    assert float(registered["2024-05"]) == 4 and float(registered["2024-06"]) == 5


def test_rerunning_the_last_month_leaves_the_marts_identical(backfill, capfd):
    from lifecircle.warehouse.checksums import MART_TABLES, checksums

    before = checksums(backfill["engine"], MART_TABLES)
    capfd.readouterr()
    assert backfill["run"](["2024-06"]) == 0
    assert checksums(backfill["engine"], MART_TABLES) == before
    # one progress line per DAG run on stdout; Airflow's own output went to the log files
    out = capfd.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("2024-06 ")]
    assert [line.split()[1] for line in lines] == list(backfill["runner"].DAG_ORDER)
    assert all(line.split()[2] == "ok" and line.endswith("s") for line in lines)
    assert "[DAG TEST]" not in "\n".join(out)


def test_rerunning_an_earlier_month_leaves_the_marts_identical(backfill):
    """2024-05 again after 2024-06 is loaded: each month's slice is its own, data-quality
    results included (checks count only what was valid at the period's end)."""
    from lifecircle.warehouse.checksums import MART_TABLES, checksums

    before = checksums(backfill["engine"], MART_TABLES)
    assert backfill["run"](["2024-05"]) == 0
    assert checksums(backfill["engine"], MART_TABLES) == before


def test_a_failing_dag_stops_the_runner_naming_month_and_dag(backfill, capfd):
    good = os.environ["AIRFLOW_CONN_REGISTRY_API"]
    # a registry connection that is not configured fails at once (a closed port would
    # first go through the client's ~15 s of connection retries)
    os.environ["AIRFLOW_CONN_REGISTRY_API"] = ""
    try:
        rc = backfill["run"](["2024-07", "2024-08"])
    finally:
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = good
    err = capfd.readouterr()
    assert rc != 0
    log = backfill["state"] / "logs" / "2024-07" / "lifecircle_registrations.log"
    assert "lifecircle_registrations failed for month 2024-07" in err.err
    assert str(log) in err.err and log.is_file()
    assert "2024-07 lifecircle_registrations FAILED" in err.out
    assert "lifecircle_pois" not in err.out and not (backfill["state"] / "logs" / "2024-08").exists()
