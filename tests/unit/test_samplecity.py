"""Sample-city generator: determinism, geometry, dirt bookkeeping, contract shapes."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from lifecircle import refdata
from lifecircle.geo import gcj02_to_wgs84, haversine_m
from lifecircle.quality.uscc import is_valid_uscc, uscc_error
from lifecircle.samplecity import generate_city

SMALL = {"n_communities": 30, "n_outlets": 2000, "with_uploads": False}
REGISTRY_STATUS = {"存续", "在业", "开业", "迁出", "停业", "注销", "吊销"}
REQUIRED_FIELDS = ["uscc", "name", "address", "industry_code", "established_date", "status"]


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _jsonl(path: Path) -> tuple[list[str], list[dict]]:
    raw = path.read_text(encoding="utf-8").splitlines()
    return raw, [json.loads(line) for line in raw]


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city(out, seed=2023, **SMALL)
    return out


@pytest.fixture(scope="module")
def tianshui(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tianshui")
    generate_city(out, seed=7, n_outlets=3000, with_uploads=False)
    return out


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_files(city, tmp_path):
    generate_city(tmp_path, seed=2023, **SMALL)
    assert _hashes(tmp_path) == _hashes(city)
    assert _manifest(city)["files"] == {k: v for k, v in _manifest(tmp_path)["files"].items()}


def test_different_seed_gives_different_files(city, tmp_path):
    generate_city(tmp_path, seed=2024, **SMALL)
    a, b = _hashes(city), _hashes(tmp_path)
    assert a.keys() == b.keys()
    for name in ["communities.csv", "network/nodes.csv", "truth/outlets.csv",
                 "registry/registrations.jsonl", "amap/pois.jsonl"]:
        assert a[name] != b[name], name


def test_manifest_has_no_clock_and_lists_file_hashes(city):
    m = _manifest(city)
    assert m["seed"] == 2023
    assert m["generated_at"] == f"{m['as_of']}T00:00:00+08:00"
    for rel, meta in m["files"].items():
        assert hashlib.sha256((city / rel).read_bytes()).hexdigest() == meta["sha256"]


# ------------------------------------------------------------------ geometry
def test_network_is_one_connected_component(city):
    nodes = pd.read_csv(city / "network" / "nodes.csv")
    edges = pd.read_csv(city / "network" / "edges.csv")
    n = len(nodes)
    assert (nodes["node_id"].to_numpy() == np.arange(n)).all()
    g = coo_matrix((np.ones(len(edges)), (edges["u"], edges["v"])), shape=(n, n))
    k, _ = connected_components(g, directed=False)
    assert k == 1
    d = haversine_m(nodes["lng"].to_numpy()[edges["u"]], nodes["lat"].to_numpy()[edges["u"]],
                    nodes["lng"].to_numpy()[edges["v"]], nodes["lat"].to_numpy()[edges["v"]])
    assert np.allclose(d, edges["length_m"], atol=0.01)
    assert edges["length_m"].max() <= 60.0  # shape points at least every ~50 m
    assert (edges["u"] != edges["v"]).all()


def test_population_points_sum_to_community_population(city):
    comm = _read(city / "communities.csv")
    pts = _read(city / "population_points.csv")
    per = pts.assign(population=pts["population"].astype(int)).groupby("community_code")["population"].sum()
    pop = comm.set_index("community_code")["population"].astype(int)
    assert per.sort_index().equals(pop.sort_index())
    k = pts.groupby("community_code").size()
    assert k.between(3, 6).all()
    assert pts["point_id"].is_unique
    assert pop.between(3000, 15000).all()
    hh = comm.set_index("community_code")["households"].astype(int)
    assert (np.abs(hh - pop / 2.8) <= 0.5).all()


def test_all_coordinates_inside_bbox(city):
    m = _manifest(city)
    x0, y0, x1, y1 = m["bbox"]["wgs84"]
    for rel in ["communities.csv", "population_points.csv", "network/nodes.csv", "truth/outlets.csv"]:
        df = pd.read_csv(city / rel)
        assert df["lng"].between(x0, x1).all() and df["lat"].between(y0, y1).all(), rel
    gx0, gy0, gx1, gy1 = m["bbox"]["gcj02"]
    _, pois = _jsonl(city / "amap" / "pois.jsonl")
    loc = np.array([[float(v) for v in p["location"].split(",")] for p in pois])
    assert (loc[:, 0] >= gx0).all() and (loc[:, 0] <= gx1).all()
    assert (loc[:, 1] >= gy0).all() and (loc[:, 1] <= gy1).all()


def test_communities_are_250_to_600_m_apart(city, tianshui):
    for root in (city, tianshui):
        comm = pd.read_csv(root / "communities.csv")
        xy = np.c_[comm["lng"] * 111320 * np.cos(np.radians(34.57)), comm["lat"] * 110574]
        d, _ = cKDTree(xy).query(xy, k=2)
        assert d[:, 1].min() >= 250 and d[:, 1].max() <= 600


def test_poi_locations_round_trip_to_truth(city):
    truth = pd.read_csv(city / "truth" / "outlets.csv").set_index("outlet_id")
    _, pois = _jsonl(city / "amap" / "pois.jsonl")
    loc = np.array([[float(v) for v in p["location"].split(",")] for p in pois])
    assert all(len(v.split(".")[1]) == 6 for p in pois for v in p["location"].split(","))
    t = truth.loc[[p["_outlet_id"] for p in pois]]
    wlng, wlat = gcj02_to_wgs84(loc[:, 0], loc[:, 1])
    err = haversine_m(wlng, wlat, t["lng"].to_numpy(), t["lat"].to_numpy())
    assert err.max() < 1.0
    shift = haversine_m(loc[:, 0], loc[:, 1], t["lng"].to_numpy(), t["lat"].to_numpy())
    assert shift.min() > 300 and shift.max() < 500  # it really is GCJ-02


# ------------------------------------------------------------------ outlets and truth
def test_truth_outlets_contract(city):
    df = _read(city / "truth" / "outlets.csv")
    assert list(df.columns) == ["outlet_id", "category_code", "lng", "lat", "open_date", "close_date", "brand", "chain"]
    cats = set(refdata.load_categories()["category_code"])
    assert set(df["category_code"]) <= cats
    opened = pd.to_datetime(df["open_date"])
    assert opened.min() >= pd.Timestamp("2021-01-01") and opened.max() <= pd.Timestamp("2026-10-31")
    closed = df[df["close_date"] != ""]
    assert 0.10 <= len(closed) / len(df) <= 0.14
    assert (pd.to_datetime(closed["close_date"]) > pd.to_datetime(closed["open_date"])).all()
    assert (pd.to_datetime(closed["close_date"]) <= pd.Timestamp("2026-10-31")).all()
    assert set(df["chain"]) == {"true", "false"}
    chain = df["chain"] == "true"
    assert 0.18 <= chain.mean() <= 0.32
    assert (df.loc[chain, "brand"] != "").all() and (df.loc[~chain, "brand"] == "").all()
    counts = df["category_code"].value_counts()
    assert counts["hair_beauty"] > 5 * counts.get("bookstore", 0)
    assert counts["convenience_store"] > 5 * counts.get("wet_market", 0)


def test_openings_peak_in_2023_2025(tianshui):
    df = _read(tianshui / "truth" / "outlets.csv")
    year = pd.to_datetime(df["open_date"]).dt.year
    per_year = year.value_counts()
    assert per_year[[2023, 2024, 2025]].sum() > 0.5 * len(df)
    assert per_year[2024] > per_year[2022]


def test_basic_categories_fill_in_over_time(tianshui):
    """Communities with every basic category among their own open outlets: more at the
    end of 2025 than at the start of 2023; and some communities still lack some."""
    df = _read(tianshui / "truth" / "outlets.csv").merge(_read(tianshui / "truth" / "links.csv"), on="outlet_id")
    cats = refdata.load_categories()
    required = set(cats.loc[cats["required_for_coverage"], "category_code"])
    n_comm = len(_read(tianshui / "communities.csv"))

    def complete(day: str) -> int:
        d = pd.Timestamp(day)
        alive = df[(pd.to_datetime(df["open_date"]) <= d)
                   & ((df["close_date"] == "") | (pd.to_datetime(df["close_date"].replace("", None)) > d))]
        have = alive[alive["category_code"].isin(required)].groupby("community_code")["category_code"].nunique()
        return int((have == len(required)).sum())

    early, late = complete("2023-01-01"), complete("2025-12-31")
    assert late > early
    assert late < n_comm


def test_tianshui_mode_uses_configured_communities(tianshui):
    comm = _read(tianshui / "communities.csv")
    cfg = refdata.load_communities("tianshui")
    assert list(comm["community_code"]) == list(cfg["community_code"])
    assert list(comm["name"]) == list(cfg["name"])
    c = pd.read_csv(tianshui / "communities.csv", dtype={"district_code": str})
    qz = c[c["district_code"] == "620502"]
    mj = c[c["district_code"] == "620503"]
    assert abs(qz["lng"].mean() - 105.72) < 0.03 and abs(qz["lat"].mean() - 34.58) < 0.03
    assert abs(mj["lng"].mean() - 105.89) < 0.03 and abs(mj["lat"].mean() - 34.56) < 0.03
    circles = _read(tianshui / "reference" / "circles.csv")
    assert list(circles["circle_code"]) == list(refdata.load_circles("tianshui")["circle_code"])


# ------------------------------------------------------------------ registry
def _category_of_line(city: Path) -> dict[str, str]:
    links = _read(city / "truth" / "links.csv")
    truth = _read(city / "truth" / "outlets.csv")
    return dict(zip(links["outlet_id"], truth["category_code"]))


def _date_ok(v) -> bool:
    try:
        date.fromisoformat(v)
        return True
    except (TypeError, ValueError):
        return False


def test_registry_dirt_matches_manifest_and_files(city):
    m = _manifest(city)
    raw, recs = _jsonl(city / "registry" / "registrations.jsonl")
    dirt = _read(city / "truth" / "dirt.csv")
    reg_dirt = dirt[dirt["source"] == "registry"]
    expected = reg_dirt["kind"].value_counts().to_dict()
    counted = {k: v for k, v in m["dirt"]["registry"].items() if k != "unmapped_industry_outlets" and v}
    assert counted == expected
    gbt = refdata.load_gbt4754()
    mapped_codes = set(gbt["industry_code"])
    mapped_cats = set(gbt["category_code"])
    links = _read(city / "truth" / "links.csv")
    truth = _read(city / "truth" / "outlets.csv")
    cat_of_uscc = dict(zip(links["uscc"], truth["category_code"]))
    kw = refdata.load_keywords()
    flagged = dict(zip(reg_dirt["line_no"].astype(int), reg_dirt["kind"]))
    found: dict[int, str] = {}
    for i, (line, r) in enumerate(zip(raw, recs), start=1):
        if i > 1 and line == raw[i - 2]:
            found[i] = "duplicate"
        elif any(r.get(f) in (None, "") for f in REQUIRED_FIELDS):
            found[i] = "missing_field"
        elif not (_date_ok(r["established_date"]) and _date_ok(r["approved_date"])):
            found[i] = "bad_date"
        elif r["status"] not in REGISTRY_STATUS:
            found[i] = "unknown_status"
        elif uscc_error(r["uscc"]) is not None:
            assert uscc_error(r["uscc"]) == "check_digit"
            found[i] = "bad_check_digit"
        elif r["industry_code"] not in mapped_codes:
            cat = cat_of_uscc[r["uscc"]]
            if cat in mapped_cats:
                found[i] = "unmapped_industry"
                words = kw[kw["category_code"] == cat]
                by_name = words[words["field"].isin(["name", "any"])]["keyword"]
                by_scope = words[words["field"].isin(["scope", "any"])]["keyword"]
                assert any(w in r["name"] for w in by_name) or any(w in r["business_scope"] for w in by_scope)
    assert found == flagged
    # at the rates the brief asks for
    n = len(raw)
    assert 0.005 <= expected["bad_check_digit"] / n <= 0.015
    assert 0.003 <= expected["duplicate"] / n <= 0.008
    assert 0.005 <= expected["missing_field"] / n <= 0.015
    assert expected["bad_date"] >= 3 and expected["unknown_status"] >= 3
    assert m["dirt"]["registry"]["unmapped_industry_outlets"] >= 0.01 * m["counts"]["outlets"]


def test_registry_lines_are_valid_where_not_dirty(city):
    raw, recs = _jsonl(city / "registry" / "registrations.jsonl")
    dirt = _read(city / "truth" / "dirt.csv")
    bad = set(dirt.loc[(dirt["source"] == "registry") & dirt["kind"].isin(["bad_check_digit", "missing_field"]),
                       "line_no"].astype(int))
    checked = 0
    for i, r in enumerate(recs, start=1):
        if i not in bad:
            assert is_valid_uscc(r["uscc"]), r["uscc"]
            checked += 1
    assert checked > 0.95 * len(recs)
    links = _read(city / "truth" / "links.csv")
    assert links["uscc"].map(is_valid_uscc).all() and links["uscc"].is_unique


def test_registry_versions_and_order(city):
    raw, recs = _jsonl(city / "registry" / "registrations.jsonl")
    m = _manifest(city)
    assert len(recs) == m["counts"]["registry_lines"]
    keys = [(r["updated_at"], r.get("uscc") or "") for r in recs]
    assert keys == sorted(keys)
    assert all(r["updated_at"].endswith("+08:00") and "T" in r["updated_at"] for r in recs)
    links = _read(city / "truth" / "links.csv")
    truth = _read(city / "truth" / "outlets.csv").merge(links, on="outlet_id")
    close_by_uscc = dict(zip(truth["uscc"], truth["close_date"]))
    open_by_uscc = dict(zip(truth["uscc"], truth["open_date"]))
    for r in recs:
        u = r.get("uscc")
        if r.get("status") == "注销" and u in close_by_uscc:
            assert r["updated_at"][:10] == close_by_uscc[u]
        elif r.get("status") == "存续" and u in open_by_uscc:
            assert r["updated_at"][:10] == open_by_uscc[u]
    sample = next(r for r in recs if r.get("address"))
    assert sample["address"].startswith("甘肃省天水市") and "街道" in sample["address"] and "社区" in sample["address"]
    assert m["registry"]["closing_records"] == (truth["close_date"] != "").sum()


# ------------------------------------------------------------------ AMap
def test_amap_dirt_and_shape(city):
    m = _manifest(city)
    raw, pois = _jsonl(city / "amap" / "pois.jsonl")
    dirt = _read(city / "truth" / "dirt.csv")
    amap_dirt = dirt[dirt["source"] == "amap"]
    assert m["dirt"]["amap"] == {k: int(v) for k, v in amap_dirt["kind"].value_counts().sort_index().items()}
    t = refdata.load_amap_typecodes()
    exact = set(t.loc[~t["is_prefix"], "typecode"])
    prefix = set(t.loc[t["is_prefix"], "typecode"])
    mapped_cats = set(t["category_code"])
    cat_of = _category_of_line(city)
    flagged = dict(zip(amap_dirt["line_no"].astype(int), amap_dirt["kind"]))
    found = {}
    for i, (line, p) in enumerate(zip(raw, pois), start=1):
        if i > 1 and line == raw[i - 2]:
            found[i] = "duplicate"
            continue
        first = p["typecode"].split("|")[0]
        if cat_of[p["_outlet_id"]] in mapped_cats and not (first in exact or first[:4] in prefix):
            found[i] = "unmapped_typecode"
    assert found == flagged
    listed = m["amap"]["pois"] / m["counts"]["outlets"]
    assert 0.85 <= listed <= 0.95
    p = pois[0]
    for key in ["id", "name", "type", "typecode", "address", "location", "pname", "cityname", "adname",
                "adcode", "tel", "biz_ext", "_open_date", "_close_date", "_outlet_id"]:
        assert key in p
    assert all(q["id"].startswith("B0FF") and len(q["id"]) == 10 for q in pois)
    assert len({q["id"] for q in pois}) == m["amap"]["pois"]
    assert {q["pname"] for q in pois} == {"甘肃省"} and {q["cityname"] for q in pois} == {"天水市"}
    assert any(q["tel"] == [] for q in pois) and any(isinstance(q["tel"], str) for q in pois)
    assert any("|" in q["typecode"] for q in pois)
    assert all(q["biz_ext"] == {} for q in pois)


def test_chain_names_carry_branch_suffix(city):
    _, recs = _jsonl(city / "registry" / "registrations.jsonl")
    truth = _read(city / "truth" / "outlets.csv").merge(_read(city / "truth" / "links.csv"), on="outlet_id")
    chain_uscc = set(truth.loc[truth["chain"] == "true", "uscc"])
    names = [r["name"] for r in recs if r.get("uscc") in chain_uscc and r.get("name")]
    assert names and all(n.endswith("店）") for n in names)
    assert all(r["uscc"][:2] == "91" for r in recs if r.get("uscc") in chain_uscc)


# ------------------------------------------------------------------ bench mode shapes
def test_bench_codes_have_real_format(city):
    comm = _read(city / "communities.csv")
    assert comm["community_code"].str.fullmatch(r"\d{12}").all()
    assert (comm["community_code"].str[:9] == comm["street_code"]).all()
    assert (comm["street_code"].str[:6] == comm["district_code"]).all()
    assert comm["community_code"].is_unique and comm["name"].is_unique
    members = _read(city / "reference" / "circle_members.csv")
    assert set(members["community_code"]) <= set(comm["community_code"])


# ------------------------------------------------------------------ options
def test_uploads_are_written_or_skipped_cleanly(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    m = generate_city(a, seed=11, n_communities=24, n_outlets=300)
    generate_city(b, seed=11, n_communities=24, n_outlets=300)
    assert m["uploads"]["status"] in {"written", "skipped"}
    assert m["uploads"]["status"] == "written" or "reason" in m["uploads"]
    for rel in m["uploads"]["files"]:
        assert (a / rel).is_file()
    assert _hashes(a) == _hashes(b)  # uploads are part of the byte-identical promise


def test_earlier_as_of(tmp_path):
    m = generate_city(tmp_path, seed=3, n_communities=20, n_outlets=800, as_of=date(2024, 5, 31),
                      with_uploads=False)
    df = _read(tmp_path / "truth" / "outlets.csv")
    assert pd.to_datetime(df["open_date"]).max() <= pd.Timestamp("2024-05-31")
    closed = df[df["close_date"] != ""]
    assert (pd.to_datetime(closed["close_date"]) <= pd.Timestamp("2024-05-31")).all()
    assert m["as_of"] == "2024-05-31"
