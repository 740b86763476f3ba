"""Geocoding of registration addresses (issue 3) against the fake AMap over real sockets:
the client (batches, retries, quota, key masking, GCJ-02 -> WGS-84 within 1 m of the
sample city's truth) and the pipeline step on real PostgreSQL (cache hits make no request,
not found / too coarse are quarantined and still published, quota stops clearly and the
re-run resumes, no connection = skipped)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from lifecircle.devservers import AmapFaults, AmapServer
from lifecircle.geo.gcj02 import haversine_m
from lifecircle.sources.amap import AmapQuotaError
from lifecircle.sources.amap_geocode import geocode_addresses, normalise_address
from lifecircle.sources.http import SourceError, make_session

pytestmark = pytest.mark.integration
KEY = "geocode-s3cret-key"
MONTH = "2024-05"


def test_normalise_address_makes_one_key_of_the_usual_variants():
    pre = ("甘肃省", "天水市")
    same = ["甘肃省天水市秦州区民主西路１２号", "天水市 秦州区民主西路12号", "秦州区民主西路12号", "  秦州区\u3000民主西路12号 "]
    assert {normalise_address(a, pre) for a in same} == {"秦州区民主西路12号"}
    assert normalise_address("天水市新城市花园3号", pre) == "新城市花园3号"  # only named prefixes go
    assert normalise_address("天水市", pre) == "天水市"  # never down to nothing
    assert normalise_address(None, pre) == "" and normalise_address("   ", pre) == ""


# --- client against the sample city's geocoder table --------------------------------------
@pytest.fixture(scope="module")
def sample_city(tmp_path_factory):
    from lifecircle.samplecity.generator import generate_city

    out = tmp_path_factory.mktemp("geocode-city")
    generate_city(out, seed=11, n_communities=20, n_outlets=1200, with_uploads=False)
    table = [json.loads(line) for line in (out / "amap/geocode.jsonl").read_text(encoding="utf-8").splitlines()]
    return {"root": out, "table": table}


@pytest.fixture()
def server(sample_city):
    with AmapServer(sample_city["root"] / "amap/pois.jsonl", KEY) as srv:
        yield srv


def test_sample_city_addresses_come_back_in_wgs84_within_1m_of_the_truth(sample_city, server):
    table = sample_city["table"]
    truth = pd.read_csv(sample_city["root"] / "truth/outlets.csv", dtype={"outlet_id": str}).set_index("outlet_id")
    res = geocode_addresses(server.url, KEY, [t["address"] for t in table], city="620500", qps=None,
                            session=make_session(retries=0))
    assert res["requests"] == server.geocode_queries == -(-len(table) // 10)  # batches of ten
    by_level = {}
    for t, r in zip(table, res["results"]):
        assert r.found == (t["location"] is not None) and r.level == t["level"], t["address"]
        by_level[t["level"]] = by_level.get(t["level"], 0) + 1
        if t["level"] == "门牌号":
            o = truth.loc[t["_outlet_id"]]
            assert haversine_m(r.lng, r.lat, o["lng"], o["lat"]) < 1.0, t["address"]
    dirt = pd.read_csv(sample_city["root"] / "truth/dirt.csv")
    kinds = dirt[dirt["source"] == "geocode"]["kind"].value_counts().to_dict()
    assert by_level == {"门牌号": len(table) - sum(kinds.values()), None: kinds["not_found"],
                        "道路": kinds["coarse_road"], "区县": kinds["coarse_district"]}


def test_single_mode_and_a_batch_answer_that_does_not_line_up(sample_city):
    table = sample_city["table"]
    missing = next(t["address"] for t in table if t["location"] is None)
    found = [t["address"] for t in table if t["level"] == "门牌号"][:2]
    addrs = [found[0], missing, found[1]]
    with AmapServer(sample_city["root"] / "amap/pois.jsonl", KEY) as srv:
        one = geocode_addresses(srv.url, KEY, addrs, batch_size=1, qps=None)
        assert srv.geocode_queries == 3 and [r.found for r in one["results"]] == [True, False, True]
    with AmapServer(sample_city["root"] / "amap/pois.jsonl", KEY, batch_omits_unfound=True) as srv:
        res = geocode_addresses(srv.url, KEY, addrs, qps=None)
        # the batch answer has 2 geocodes for 3 addresses: asked again one by one
        assert srv.geocode_queries == 4 and res["realigned_batches"] == 1
        assert [r.found for r in res["results"]] == [True, False, True]
        assert [r.lng for r in res["results"]] == [r.lng for r in one["results"]]


def test_throttling_is_retried(sample_city, server):
    server.set_faults(AmapFaults(infocode_at_request={1: 10014, 2: 10004}))
    address = next(t["address"] for t in sample_city["table"] if t["level"] == "门牌号")
    res = geocode_addresses(server.url, KEY, [address], qps=None, throttle_backoff=0.01)
    assert res["requests"] == 3 and res["found"] == 1
    assert server.infocodes[10014] == 1 and server.infocodes[10004] == 1


def test_spent_quota_stops_after_handing_over_the_finished_batches(sample_city, caplog):
    addrs = [t["address"] for t in sample_city["table"][:35]]
    handed: list = []
    with AmapServer(sample_city["root"] / "amap/pois.jsonl", KEY, daily_quota=2) as srv:
        with pytest.raises(AmapQuotaError) as err:
            geocode_addresses(srv.url, KEY, addrs, qps=None, on_batch=handed.extend, log=None)
    assert err.value.infocode == 10003 and err.value.summary["done"] == 20
    assert [r.address for r in handed] == addrs[:20]
    assert KEY not in str(err.value) and KEY not in caplog.text


def test_bad_key_and_http_errors_name_the_request_and_hide_the_key(sample_city, server):
    with pytest.raises(SourceError, match="10001 INVALID_USER_KEY") as err:
        geocode_addresses(server.url, "wrong-" + KEY, ["秦州区民主西路12号"], qps=None)
    assert KEY not in str(err.value)
    server.set_faults(AmapFaults(http_status_at_request={1: 502, 2: 502}))  # retries=1: both fail
    with pytest.raises(SourceError, match="HTTP 502") as err:
        geocode_addresses(server.url, KEY, ["秦州区民主西路12号"], qps=None, session=make_session(retries=1,
                          backoff_factor=0.01, secrets=[KEY]))
    assert "/v3/geocode/geo" in str(err.value) and KEY not in str(err.value)


# --- the pipeline step on the tiny city ---------------------------------------------------
@pytest.fixture()
def tiny_load(tiny_city, warehouse_url, tmp_path, monkeypatch):
    """The tiny city's May registrations plus one shop whose address AMap cannot find,
    extracted and validated; the fake AMap serves the tiny city's geocoder table."""
    from lifecircle.devservers import RegistryServer
    from lifecircle.ingest import registrations
    from lifecircle.warehouse.reference import prepare
    from tests.fixtures.tiny_city import _reg, uscc

    prepare()
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM raw.geocode_cache WHERE city_code = '990100'"))
    data = tiny_city["citydata"]
    lines = (data / "registry/registrations.jsonl").read_text(encoding="utf-8").splitlines()
    lines.append(json.dumps(_reg(uscc(8), "无名小卖部", "乙社区", "5213", "2023-04-01", "存续",
                                 "2023-04-01T09:00:00+08:00", house_no=8), ensure_ascii=False))
    path = tmp_path / "registrations.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with RegistryServer(path, "geo-token") as reg, AmapServer(data / "amap/pois.jsonl", KEY) as amap:
        monkeypatch.setenv("AIRFLOW_CONN_REGISTRY_API", f"http://:geo-token@127.0.0.1:{reg.port}")
        monkeypatch.setenv("AIRFLOW_CONN_AMAP_API", f"http://:{KEY}@127.0.0.1:{amap.port}")
        registrations.extract(MONTH)
        registrations.validate(MONTH)
        yield {"engine": engine, "amap": amap}
    engine.dispose()


def _state(engine) -> dict:
    with engine.connect() as conn:
        staging = conn.execute(sa.text("""SELECT uscc, geocode_status, geocode_level, lng, lat FROM staging.registration
            WHERE load_id = 'registrations:2024-05' ORDER BY uscc, updated_at""")).all()
        quarantine = conn.execute(sa.text("""SELECT page_no, row_no, reason_code, field, message, record->>'uscc'
            FROM quarantine.registration WHERE load_id = 'registrations:2024-05' ORDER BY 1, 2, 3""")).all()
    return {"staging": [tuple(r) for r in staging], "quarantine": [tuple(r) for r in quarantine]}


def test_step_caches_quarantines_and_publishes_without_losing_a_record(tiny_load):
    from lifecircle.ingest import geocoding, registrations
    from tests.fixtures.tiny_city import EXPECTED, LAT0, lng_at, uscc

    engine, amap = tiny_load["engine"], tiny_load["amap"]
    first = geocoding.geocode(MONTH)
    # 6 distinct addresses (老王's two versions share one), one request of up to ten
    assert first == {"addresses": 6, "cache_hits": 0, "requests": 1, "ok": 4, "too_coarse": 1, "not_found": 1,
                     "empty_address": 0, "quarantined": 3}
    state = _state(engine)
    status = {u: (s, lv) for u, s, lv, *_ in state["staging"]}
    assert status[uscc(8)] == ("not_found", None) and status[uscc(5)] == ("too_coarse", "区县")
    reasons = sorted((r[2], r[5]) for r in state["quarantine"] if r[2].startswith("geocode"))
    assert reasons == [("geocode_failed", uscc(8)), ("geocode_too_coarse", uscc(5)), ("geocode_too_coarse", uscc(5))]
    assert all(r[3] == "address" and "测试路" in r[4] for r in state["quarantine"] if r[2].startswith("geocode"))

    again = geocoding.geocode(MONTH)  # warm cache: no request, same state
    assert amap.geocode_queries == 1 and again["requests"] == 0 and again["cache_hits"] == 6
    assert _state(engine) == state

    registrations.publish(MONTH)
    core = pd.read_sql("SELECT uscc, lng, lat, geocode_level FROM core.outlet_history", engine).set_index("uscc")
    assert core.loc[uscc(8), "lng"] is None or pd.isna(core.loc[uscc(8), "lng"])  # published, no coordinates
    for serial, x in EXPECTED["geocode"].items():
        assert haversine_m(core.loc[uscc(serial), "lng"], core.loc[uscc(serial), "lat"], lng_at(x), LAT0) < 1.0


def test_spent_quota_fails_clearly_and_the_rerun_resumes(tiny_load):
    from lifecircle.ingest import geocoding

    amap = tiny_load["amap"]
    amap.daily_quota = 0
    with pytest.raises(AmapQuotaError, match="10003"):
        geocoding.geocode(MONTH)
    with tiny_load["engine"].connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM raw.geocode_cache WHERE city_code = '990100'")).scalar() == 0
    amap.reset_quota()
    amap.daily_quota = None
    assert geocoding.geocode(MONTH)["requests"] == 1


def test_step_is_skipped_without_the_amap_connection(tiny_load, monkeypatch, caplog):
    from lifecircle.ingest import geocoding

    monkeypatch.delenv("AIRFLOW_CONN_AMAP_API")
    with caplog.at_level("WARNING", logger="lifecircle.ingest.geocoding"):
        out = geocoding.geocode(MONTH)
    assert out["skipped"] is True and "amap_api" in out["reason"]
    assert "geocoding skipped" in caplog.text and tiny_load["amap"].geocode_queries == 0
