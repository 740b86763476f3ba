"""POI <-> registration matching: precision and recall on hand-labelled pairs and on the
generated sample city's truth (truth/links.csv)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lifecircle.ingest import matching

PAIRS = Path(__file__).resolve().parents[1] / "fixtures" / "poi_registration_pairs.csv"
BRANDS = pd.DataFrame([
    {"brand": "美宜佳", "aliases": ["美宜佳便利店"]}, {"brand": "华润万家", "aliases": ["万家", "华润万家超市", "乐购"]},
    {"brand": "京东便利店", "aliases": ["京东便利"]}, {"brand": "便利蜂", "aliases": ["便利蜂便利店"]},
    {"brand": "新乐超市", "aliases": ["新乐"]}])


def test_normalise_name():
    assert matching.normalise_name("天水福顺烟酒店有限公司") == "福顺烟酒店"
    assert matching.normalise_name("秦州区王姐包子铺") == "王姐包子铺"
    assert matching.normalise_name("金鼎ＫＴＶ （民主路店）") == "金鼎ktv"
    assert matching.normalise_name("美宜佳(进步巷店)", BRANDS, keep_branch=True) == "美宜佳进步巷店"
    assert matching.normalise_name("乐购超市", BRANDS) == "华润万家超市"


def test_labelled_pairs_precision_recall():
    pairs = pd.read_csv(PAIRS, dtype=str)
    assert len(pairs) >= 60
    predicted = []
    for i, row in pairs.iterrows():
        pois = pd.DataFrame([{"poi_id": f"p{i}", "name": row.poi_name, "community_code": row.poi_community,
                              "category_code": row.poi_category}])
        regs = pd.DataFrame([{"uscc": f"r{i}", "name": row.registration_name,
                              "community_code": row.registration_community,
                              "category_code": row.registration_category}])
        predicted.append(len(matching.match(pois, regs, known_brands=BRANDS)) == 1)
    pairs["predicted"] = predicted
    truth = pairs["is_match"] == "1"
    tp = int((pairs["predicted"] & truth).sum())
    precision, recall = tp / max(int(pairs["predicted"].sum()), 1), tp / int(truth.sum())
    wrong = pairs.loc[pairs["predicted"] != truth, ["poi_name", "registration_name", "note"]]
    print(f"labelled pairs: n={len(pairs)} precision={precision:.3f} recall={recall:.3f}\n{wrong}")
    assert precision >= 0.9 and recall >= 0.9, wrong


def test_one_to_one_and_deterministic():
    pois = pd.DataFrame([{"poi_id": "a", "name": "蜜雪冰城（安新店）", "community_code": "C1", "category_code": "tea"},
                         {"poi_id": "b", "name": "蜜雪冰城", "community_code": "C1", "category_code": "tea"}])
    regs = pd.DataFrame([{"uscc": "x", "name": "蜜雪冰城（安新店）", "community_code": "C1", "category_code": "tea"},
                         {"uscc": "y", "name": "蜜雪冰城（安新第2分店）", "community_code": "C1", "category_code": "tea"}])
    out = matching.match(pois, regs)
    assert list(zip(out.poi_id, out.uscc)) == [("a", "x"), ("b", "y")]
    assert out.equals(matching.match(pois.iloc[::-1], regs.iloc[::-1]))
    assert list(out.columns) == matching.MATCH_COLUMNS and out["distance_m"].isna().all()


def test_distance_term_when_both_have_coordinates():
    pois = pd.DataFrame([{"poi_id": "a", "name": "红星菜店", "community_code": "C1", "category_code": "f",
                          "lng": 105.7, "lat": 34.58}])
    near = pd.DataFrame([{"uscc": "x", "name": "红星菜店", "community_code": "C1", "category_code": "f",
                          "lng": 105.7003, "lat": 34.58}])
    far = near.assign(lng=105.71)
    hit = matching.match(pois, near)
    assert len(hit) == 1 and 20 < hit.at[0, "distance_m"] < 35
    assert matching.match(pois, far).empty


def sample_city_frames(out: Path, radius_m: float = 500.0):
    from lifecircle import refdata
    from lifecircle.ingest import categorise, locate
    from lifecircle.sources.amap import parse_pois

    regs = pd.DataFrame([json.loads(x) for x in (out / "registry/registrations.jsonl").open(encoding="utf-8")])
    regs = regs.sort_values("updated_at").drop_duplicates("uscc", keep="last")
    regs = regs[~regs["status"].isin(["注销", "吊销", "迁出"])]
    comms = pd.read_csv(out / "communities.csv", dtype={"community_code": str})
    regs = categorise.categorise_registrations(regs, refdata.load_gbt4754(), refdata.load_keywords())
    regs["community_code"] = locate.community_from_address(regs["address"], comms)
    raws = [json.loads(x) for x in (out / "amap/pois.jsonl").open(encoding="utf-8")]
    pois = pd.DataFrame(parse_pois(raws)).dropna(subset=["lng", "id"]).drop_duplicates("id")
    pois["category_code"] = categorise.categorise_pois(pois["typecodes"], pois["name"],
                                                       refdata.load_amap_typecodes(), refdata.load_keywords())
    points = pd.read_csv(out / "population_points.csv", dtype={"community_code": str})
    pois["community_code"] = locate.nearest_community(pois["lng"], pois["lat"], points)
    pois["nearby_communities"] = locate.nearby_communities(pois["lng"], pois["lat"], points, radius_m)
    pois = pois.rename(columns={"id": "poi_id"}).drop(columns=["lng", "lat"])
    links = pd.read_csv(out / "truth/links.csv", dtype=str).dropna(subset=["uscc", "poi_id"])
    links = links[links["uscc"].isin(regs["uscc"]) & links["poi_id"].isin(pois["poi_id"])]
    return pois, regs, links


def test_sample_city_precision_recall(tmp_path):
    from lifecircle import refdata
    from lifecircle.samplecity import generate_city

    generate_city(tmp_path, n_communities=30, n_outlets=3000, with_uploads=False)
    pois, regs, links = sample_city_frames(tmp_path)
    found = matching.match(pois, regs, known_brands=refdata.load_brands())
    pr = matching.precision_recall(found, links)
    print(f"sample city (30 communities, 3000 outlets): {pr}")
    assert pr["precision"] >= 0.8 and pr["recall"] >= 0.8
