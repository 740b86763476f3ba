"""The tiny city's month through the package functions (no Airflow), then the report."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from tests.fixtures.tiny_city import MONTH


def run_month(data, month: str = MONTH) -> None:
    from lifecircle.coverage import run as coverage
    from lifecircle.devservers import AmapServer, RegistryServer
    from lifecircle.ingest import pois, registrations, uploads
    from lifecircle.period import Month
    from lifecircle.warehouse.reference import prepare

    prepare()
    with RegistryServer(data / "registry/registrations.jsonl", "t0ken-report") as reg, \
            AmapServer(data / "amap/pois.jsonl", "k3y-report", as_of=Month.parse(month).end) as amap:
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:t0ken-report@127.0.0.1:{reg.port}"
        os.environ["AIRFLOW_CONN_AMAP_API"] = f"http://:k3y-report@127.0.0.1:{amap.port}"
        registrations.extract(month)
        registrations.validate(month)
        registrations.publish(month)
        pois.extract(month)
        pois.validate(month)
        pois.publish(month)
    uploads.ingest(month)
    uploads.publish(month)
    coverage.compute(month)


@pytest.fixture(scope="module")
def report_db(warehouse_url):
    """A fresh, migrated database of its own for the module (next to the session's one), so
    months other modules loaded into the shared warehouse cannot collide with the tiny city."""
    import uuid

    from lifecircle.warehouse import migrate
    from lifecircle.warehouse.engine import _engine

    name = f"lifecircle_report_{uuid.uuid4().hex[:8]}"
    saved = os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"]
    admin = sa.create_engine(sa.engine.make_url(warehouse_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = \
        sa.engine.make_url(saved).set(database=name).render_as_string(hide_password=False)
    _engine.cache_clear()
    migrate.upgrade()
    try:
        yield sa.engine.make_url(warehouse_url).set(database=name).render_as_string(hide_password=False)
    finally:
        os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = saved
        _engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def built_month(report_db, tiny_city, tmp_path_factory):
    """Warehouse loaded with the tiny city's month; returns a function (re)building the report."""
    from lifecircle.report import build

    run_month(tiny_city["citydata"])
    engine = sa.create_engine(report_db)
    out = tmp_path_factory.mktemp("report")

    def make(period: str = MONTH) -> dict:
        build.progress(period)
        return build.render(period, out_dir=out / period)

    yield {"engine": engine, "make": make, "out": out}
    engine.dispose()
    from lifecircle.warehouse.engine import _engine
    _engine.cache_clear()


# ---------------------------------------------------------------- headless Chromium
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def _find_chromium() -> str | None:
    import shutil

    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium: found, or installed with apt when running as root (CI)."""
    import subprocess

    found = _find_chromium()
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("chromium is not installed and cannot be installed (not root): apt-get install -y chromium")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    found = _find_chromium()
    if not found:
        pytest.fail("apt-get installed chromium but no chromium binary was found")
    return found


def run_chromium(binary: str, url: str, *extra: str, profile) -> tuple[str, str]:
    """One headless Chromium run; returns (stdout, stderr)."""
    import subprocess

    done = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


def console_errors(stderr: str) -> list[str]:
    """Console messages and uncaught errors Chromium logged (--enable-logging=stderr)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
