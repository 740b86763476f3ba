"""The real Tianshui reference data (config/ + the generated sample city) passes every
reference suite and reaches core — the tiny test city alone would not catch a suite that
rejects a real value (it once rejected the unit m2_per_100_households)."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


@pytest.fixture()
def tianshui_city(tmp_path, monkeypatch):
    from lifecircle.samplecity import generate_city

    generate_city(tmp_path / "city", seed=2023, with_uploads=False)
    monkeypatch.setenv("LIFECIRCLE_CITY_DATA", str(tmp_path / "city"))
    for var in ("LIFECIRCLE_CONFIG_DIR", "LIFECIRCLE_CITY"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "city"


def test_tianshui_reference_passes_its_suites(warehouse_url, tianshui_city):
    from lifecircle.warehouse.reference import prepare

    counts = prepare()
    assert counts["core.community"] == 120 and counts["core.task"] == 42
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        failed = conn.execute(sa.text("SELECT suite, expectation FROM mart.dq_results "
                                      "WHERE period = 'reference' AND NOT success AND severity = 'critical'")).all()
        units = set(conn.execute(sa.text("SELECT DISTINCT unit FROM core.target")).scalars())
    assert failed == []
    assert "m2_per_100_households" in units
