"""AMap v5 polygon harvest against the fake AMap server, over real sockets."""
from __future__ import annotations

import json
import logging
import random

import pytest

from lifecircle.devservers import AmapServer
from lifecircle.sources.amap import AmapQuotaError, Cell, harvest, initial_cells, parse_poi
from lifecircle.sources.http import SourceError, make_session

pytestmark = pytest.mark.integration

KEY = "amapKEY-7f3e9c1d-DistinctiveSecret"
BBOX = (105.60, 34.50, 105.80, 34.70)  # GCJ-02, around Tianshui
GRID = 0.05                            # 4 x 4 initial cells
TYPES = ["060200", "060400", "090601", "071100", "071500", "050300", "070400"]


def _poi(pid: str, lng: float, lat: float, rng: random.Random, **extra) -> dict:
    tc = rng.choice(TYPES)
    if rng.random() < 0.1:
        tc = f"{tc}|{rng.choice(TYPES)}"
    return {
        "id": pid, "name": f"POI {pid}", "type": "购物服务;便利店;便利店", "typecode": tc,
        "address": [] if rng.random() < 0.2 else "民主西路12号",
        "location": f"{lng:.6f},{lat:.6f}", "pname": "甘肃省", "cityname": "天水市",
        "adname": "秦州区", "adcode": "620502", "tel": [] if rng.random() < 0.5 else "0938-1",
        **extra,
    }


def make_pois(seed: int = 7) -> list[dict]:
    """~3,000 POIs: dense clusters (several cells must split), a uniform background,
    POIs exactly on cell boundaries, on the bbox's max edge, outside it, and unplaceable."""
    rng = random.Random(seed)
    pois, n = [], 0

    def add(lng, lat, **extra):
        nonlocal n
        n += 1
        pois.append(_poi(f"B0{n:07d}", lng, lat, rng, **extra))

    for cx, cy in [(105.652, 34.583), (105.701, 34.601), (105.733, 34.652)]:
        for _ in range(700):
            add(rng.gauss(cx, 0.004), rng.gauss(cy, 0.004))
    for _ in range(700):
        add(rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3]))
    for _ in range(60):  # on initial-grid and first-split boundaries
        add(rng.choice([105.65, 105.70, 105.75, 105.675]), rng.uniform(34.55, 34.65))
        add(rng.uniform(105.62, 105.78), rng.choice([34.55, 34.60, 34.65, 34.575]))
    for _ in range(10):  # on the bbox's min edge (inside) and max edge (outside)
        add(BBOX[0], rng.uniform(34.51, 34.69))
        add(BBOX[2], rng.uniform(34.51, 34.69))
        add(rng.uniform(105.61, 105.79), BBOX[3])
    for _ in range(30):
        add(rng.uniform(105.81, 105.9), rng.uniform(34.5, 34.7))
    for _ in range(5):
        add(0, 0)
        pois[-1]["location"] = []
    pois[0]["_open_date"] = "2020-01-01"  # private fields must never be served
    return pois


def in_bbox(p: dict, types=None) -> bool:
    if not isinstance(p["location"], str):
        return False
    lng, lat = map(float, p["location"].split(","))
    ok = BBOX[0] <= lng < BBOX[2] and BBOX[1] <= lat < BBOX[3]
    if types:
        ok = ok and any(tc.startswith(tuple(types)) for tc in p["typecode"].split("|"))
    return ok


def write_jsonl(path, pois):
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pois), "utf-8")
    return path


@pytest.fixture(scope="module")
def pois():
    return make_pois()


@pytest.fixture(scope="module")
def pois_path(tmp_path_factory, pois):
    return write_jsonl(tmp_path_factory.mktemp("amap") / "pois.jsonl", pois)


@pytest.fixture()
def session():
    return make_session(retries=2, backoff_factor=0.01, timeout=(2.0, 2.0), secrets=[KEY])


class Sink:
    """What a caller's checkpoint would hold: cell id -> raw POIs."""

    def __init__(self):
        self.cells: dict[str, list[dict]] = {}

    def __call__(self, cell_id, raw):
        assert cell_id not in self.cells, f"cell {cell_id} delivered twice"
        self.cells[cell_id] = raw

    def ids(self) -> list[str]:
        return [p["id"] for raw in self.cells.values() for p in raw]


def run(url, sink, session, **kw):
    kw.setdefault("qps", None)
    kw.setdefault("initial_cell_deg", GRID)
    kw.setdefault("throttle_backoff", 0.01)
    return harvest(url, KEY, BBOX, kw.pop("types", []), on_cell=sink, session=session, **kw)


def test_harvest_is_exact_with_splits(pois, pois_path, session):
    expected = {p["id"] for p in pois if in_bbox(p)}
    assert len(expected) > 2900
    sink = Sink()
    with AmapServer(pois_path, KEY) as srv:
        summary = run(srv.url, sink, session)
        assert summary["queries"] == srv.queries
    ids = sink.ids()
    assert len(ids) == len(set(ids)), "a POI was delivered twice"
    assert set(ids) == expected
    assert summary["pois"] == len(expected)
    assert summary["truncated_cells"] == [] and not summary["stopped_by_quota"]
    assert summary["split_cells"] >= 3
    assert any(c.count("/") >= 2 for c in sink.cells), "clusters should split twice or more"
    assert summary["leaf_cells"] == summary["cells_done"] == len(sink.cells)
    assert all(not k.startswith("_") for raw in sink.cells.values() for p in raw for k in p)
    # every POI sits in the half-open rectangle of the leaf it was assigned to
    cells = {c.id: c for c in initial_cells(BBOX, GRID)}
    for cid, raw in sink.cells.items():
        parts = cid.split("/")
        cell = cells[parts[0]]
        for q in parts[1:]:
            cell = cell.children()[int(q)]
        for p in raw:
            assert cell.contains(*map(float, p["location"].split(",")))


def test_types_filter(pois, pois_path, session):
    with AmapServer(pois_path, KEY) as srv:
        sink = Sink()
        run(srv.url, sink, session, types=["0602", "090601"])
    assert set(sink.ids()) == {p["id"] for p in pois if in_bbox(p, ["0602", "090601"])}


def test_quota_stop_then_resume_is_exact(pois, pois_path, session):
    expected = {p["id"] for p in pois if in_bbox(p)}
    with AmapServer(pois_path, KEY) as srv:
        full = run(srv.url, Sink(), session)["queries"]
    with AmapServer(pois_path, KEY, daily_quota=int(full * 0.6)) as srv:
        sink = Sink()
        with pytest.raises(AmapQuotaError) as err:
            run(srv.url, sink, session)
        assert err.value.infocode == 10003 and err.value.info == "DAILY_QUERY_OVER_LIMIT"
        first = err.value.summary
        assert first["stopped_by_quota"] and first["cells_done"] == len(sink.cells) > 0
        done = set(sink.cells)
        ids_first = set(sink.ids())
        # still over quota: the rerun stops at once and loses nothing
        with pytest.raises(AmapQuotaError):
            run(srv.url, Sink(), session, done_cells=done)
        srv.reset_quota()
        second = run(srv.url, sink, session, done_cells=done)
    assert not second["stopped_by_quota"] and second["skipped_cells"] == len(done)
    ids = sink.ids()
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert ids_first < set(ids)
    # Parents of done cells are not re-queried: resuming only costs the aborted cell's
    # pages (<= 8) and 2 probe queries per not-yet-done ancestor of it (depth <= 4 here).
    assert first["queries"] - 1 + second["queries"] <= full + 8 + 2 * 4


def test_quota_stop_without_raising(pois_path, session):
    with AmapServer(pois_path, KEY, daily_quota=5) as srv:
        summary = run(srv.url, Sink(), session, raise_on_quota=False)
    assert summary["stopped_by_quota"] is True


def test_qps_limit_errors_are_retried(pois_path, session, caplog):
    caplog.set_level(logging.INFO)
    with AmapServer(pois_path, KEY, qps_limit=2) as srv:
        sink = Sink()
        summary = harvest(srv.url, KEY, (105.60, 34.50, 105.62, 34.52), [], qps=None,
                          initial_cell_deg=0.01, on_cell=sink, session=session,
                          throttle_retries=6, throttle_backoff=0.1)
        assert srv.infocodes[10014] > 0
    assert summary["cells_done"] == 4 and not summary["stopped_by_quota"]
    assert "10014" in caplog.text


def test_client_qps_limiter_avoids_throttling(pois_path, session):
    with AmapServer(pois_path, KEY, qps_limit=20) as srv:
        harvest(srv.url, KEY, (105.60, 34.50, 105.62, 34.52), [], qps=15,
                initial_cell_deg=0.005, on_cell=Sink(), session=session)
        assert srv.infocodes[10014] == 0 and srv.queries == 16


def test_truncated_cell_is_reported(tmp_path, session, caplog):
    rng = random.Random(1)
    mall = [_poi(f"M{i:04d}", 105.6012, 34.5034, rng) for i in range(230)]
    path = write_jsonl(tmp_path / "pois.jsonl", mall)
    lines = []
    with AmapServer(path, KEY) as srv:
        sink = Sink()
        summary = harvest(srv.url, KEY, (105.60, 34.50, 105.61, 34.51), [], qps=None,
                          initial_cell_deg=0.01, min_cell_deg=0.002, on_cell=sink,
                          session=session, log=lines.append)
    assert len(summary["truncated_cells"]) == 1
    cid = summary["truncated_cells"][0]
    assert cid.startswith("r0c0/") and len(sink.cells[cid]) == 200
    assert any(line.startswith("WARNING") and cid in line for line in lines)


def test_error_infocodes(pois_path, session):
    with AmapServer(pois_path, KEY, faults={"infocode_at_request": {3: 10009}}) as srv:
        with pytest.raises(SourceError, match="infocode 10009 USERKEY_PLAT_NOMATCH") as err:
            run(srv.url, Sink(), session)
        assert not isinstance(err.value, AmapQuotaError)
        with pytest.raises(SourceError, match="10001 INVALID_USER_KEY"):
            harvest(srv.url, "not-the-key", BBOX, [], qps=None, on_cell=Sink(),
                    session=session)
        r = session.get(srv.url + "/v5/place/polygon", params={
            "key": KEY, "polygon": "105.6,34.6|105.7,34.5", "page_size": 26})
        assert r.json() == {"status": "0", "info": "INVALID_PARAMS", "infocode": "20000"}


def test_key_never_in_logs_or_errors(pois_path, session, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    faults = {"http_status_at_request": {2: 502}, "infocode_at_request": {4: 10004, 6: 10015}}
    with AmapServer(pois_path, KEY, faults=faults, daily_quota=12) as srv:
        with pytest.raises(AmapQuotaError) as quota:
            run(srv.url, Sink(), session, log=print)
        with pytest.raises(SourceError) as bad:
            srv.set_faults({"infocode_at_request": {13: 10009}})
            srv.reset_quota()
            run(srv.url, Sink(), session)
        dead = srv.url
    with pytest.raises(SourceError) as gone:
        run(dead, Sink(), make_session(retries=1, backoff_factor=0))
    out = capsys.readouterr()
    assert "key=***" in str(gone.value)                       # the URL was there, masked
    assert "key=***" in caplog.text                           # urllib3 debug lines, masked
    assert "10004" in out.out and "cell r0c0" in out.out
    texts = [out.out, out.err, caplog.text, str(quota.value), str(bad.value), str(gone.value),
             repr(gone.value)]
    for text in texts:
        assert KEY not in text


def test_parse_poi():
    raw = {"id": "B0FFH1", "name": "美宜佳", "type": "购物服务;便利店;便利店",
           "typecode": "060200|060400", "address": [], "location": "105.724998,34.580215",
           "pname": "甘肃省", "cityname": "天水市", "adname": "秦州区", "adcode": "620502",
           "tel": [], "biz_ext": {"rating": []}}
    p = parse_poi(raw)
    assert p["typecode"] == "060200" and p["typecodes"] == ["060200", "060400"]
    assert p["address"] is None and p["tel"] is None and p["name"] == "美宜佳"
    assert (p["lng_gcj"], p["lat_gcj"]) == (105.724998, 34.580215)
    # GCJ-02 is ~300-500 m off WGS-84 around Tianshui
    assert 0.001 < abs(p["lng"] - p["lng_gcj"]) + abs(p["lat"] - p["lat_gcj"]) < 0.01
    from lifecircle.geo.gcj02 import wgs84_to_gcj02
    back = wgs84_to_gcj02(p["lng"], p["lat"])
    assert abs(back[0] - 105.724998) < 1e-6 and abs(back[1] - 34.580215) < 1e-6
    empty = parse_poi({"id": "X", "name": "x", "typecode": [], "location": []})
    assert empty["typecode"] is None and empty["typecodes"] == []
    assert empty["lng"] is None and empty["lng_gcj"] is None and empty["adname"] is None


def test_cells_are_stable_and_half_open():
    a, b = initial_cells(BBOX, GRID), initial_cells(BBOX, GRID)
    assert a == b and len(a) == 16 and a[0].id == "r0c0" and a[-1].id == "r3c3"
    c = Cell("r0c0", 105.6, 34.5, 105.65, 34.55)
    kids = c.children()
    assert [k.id for k in kids] == ["r0c0/0", "r0c0/1", "r0c0/2", "r0c0/3"]
    assert kids[0].contains(105.6, 34.5) and not kids[0].contains(105.625, 34.5)
    assert kids[1].contains(105.625, 34.5)
    assert c.polygon() == "105.600000,34.550000|105.650000,34.500000"
