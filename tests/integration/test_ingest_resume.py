"""Ingest through the real interfaces on real PostgreSQL: a registry load that fails at a
page resumes from its checkpoint and ends with exactly the records a clean run gets;
quarantined records are kept whole."""
from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration
MONTH = "2024-05"


@pytest.fixture()
def registry(tiny_city, warehouse_url, tmp_path):
    """The tiny city's registry, padded to several pages, served locally."""
    from lifecircle.devservers import RegistryServer
    from lifecircle.warehouse.reference import prepare

    prepare()
    src = (tiny_city["citydata"] / "registry/registrations.jsonl").read_text(encoding="utf-8").splitlines()
    from tests.fixtures.tiny_city import _reg, uscc
    extra = [json.dumps(_reg(uscc(100 + i), f"测试便利店{i}号", "甲社区", "5213", "2023-02-01", "存续",
                             f"2023-02-01T10:{i // 60:02d}:{i % 60:02d}+08:00"), ensure_ascii=False) for i in range(95)]
    path = tmp_path / "registrations.jsonl"
    path.write_text("\n".join(src + extra) + "\n", encoding="utf-8")
    with RegistryServer(path, "resume-token") as server:
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:resume-token@127.0.0.1:{server.port}"
        yield server


def _raw(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT uscc, updated_at FROM raw.registration ORDER BY 1, 2")).all()


def test_failed_load_resumes_at_the_failed_page(registry, warehouse_url):
    from lifecircle.devservers import RegistryFaults
    from lifecircle.ingest import registrations

    engine = sa.create_engine(warehouse_url)
    clean = registrations.extract(MONTH, page_size=20)
    expected = _raw(engine)
    assert clean["pages"] == 6 and len(expected) == 102  # 7 tiny-city records up to May + 95 padding

    registry.set_faults(RegistryFaults(fail_at_page={4: (500, None)}))
    from lifecircle.sources.http import SourceError

    with pytest.raises(SourceError, match="page 4"):
        registrations.extract(MONTH, page_size=20, retries=1)
    with engine.connect() as conn:
        status, checkpoint = conn.execute(sa.text(
            "SELECT status, checkpoint FROM raw.load WHERE load_id = 'registrations:2024-05'")).one()
    assert status == "failed" and checkpoint == {"last_page": 3}

    registry.set_faults(RegistryFaults())
    registry.reset_counters()
    resumed = registrations.extract(MONTH, page_size=20)
    assert resumed["resumed_from_page"] == 4
    assert set(registry.requests_per_page) == {4, 5, 6}, "pages 1-3 must not be fetched again"
    assert _raw(engine) == expected


def test_quarantine_keeps_the_whole_record(registry, warehouse_url):
    from lifecircle.ingest import registrations

    registrations.extract(MONTH, page_size=50)
    out = registrations.validate(MONTH)
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT reason_code, field, message, record FROM quarantine.registration")).one()
        received = conn.execute(sa.text("SELECT rows_received, rows_accepted, rows_quarantined FROM raw.load "
                                        "WHERE load_id = 'registrations:2024-05'")).one()
    assert row.reason_code == "uscc_check_digit" and row.field == "uscc"
    assert row.record["name"] == "坏码便利店" and row.record["uscc"] in row.message
    assert received.rows_received == received.rows_accepted + received.rows_quarantined
    assert out["quarantined_rows"] == 1
