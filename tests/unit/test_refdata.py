"""Consistency checks for config/ reference data and the refdata loaders."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from lifecircle import refdata

CITY = "tianshui"


@pytest.fixture(scope="module")
def categories():
    return refdata.load_categories()


@pytest.fixture(scope="module")
def city_cfg():
    return refdata.load_city(CITY)


@pytest.fixture(scope="module")
def tasks():
    return refdata.load_tasks(CITY)


@pytest.fixture(scope="module")
def communities():
    return refdata.load_communities(CITY)


# ------------------------------------------------------------------ tasks
def test_task_counts(tasks):
    assert len(tasks) == 42
    assert (tasks["annex"] == 3).sum() == 12
    assert (tasks["annex"] == 4).sum() == 30
    assert tasks["task_id"].is_unique
    for annex, n in ((3, 12), (4, 30)):
        assert sorted(tasks.loc[tasks["annex"] == annex, "seq"]) == list(range(1, n + 1))


def test_every_task_has_lead_unit_and_measure(tasks):
    assert all(len(u) >= 1 for u in tasks["lead_units"])
    assert all(m for m in tasks["measure"])
    assert all(i for i in tasks["item"])


def test_ongoing_iff_no_deadline(tasks):
    for _, t in tasks.iterrows():
        assert t["ongoing"] == (t["deadline"] is None), t["task_id"]
        if t["ongoing"]:
            assert t["deadline_raw"].startswith("常态化")
        else:
            assert isinstance(t["deadline"], dt.date)
            assert dt.date(2023, 1, 1) <= t["deadline"] <= dt.date(2025, 12, 31)


def test_known_task_details(tasks):
    t = tasks.set_index("task_id")
    assert t.loc["A3-01", "deadline"] == dt.date(2024, 9, 30)
    assert t.loc["A4-02", "deadline"] == dt.date(2023, 12, 31)
    assert t.loc["A4-24", "deadline_raw"] == "2024年9月度"  # [sic] in the seed
    assert t.loc["A4-24", "deadline"] == dt.date(2024, 9, 30)
    assert t.loc["A4-30", "item"] == "引导规范经营"  # filled down
    assert t.loc["A4-07", "lead_units"] == ["市政务服务中心"]  # re-joined line wrap
    assert t.loc["A4-03", "co_units"] == ["各街道办事处", "各社区"]
    assert t.loc["A3-12", "lead_units"] == ["秦州区政府", "麦积区政府"]


def test_units_cover_tasks(tasks):
    units = refdata.load_units(CITY)["unit_name"]
    assert units.is_unique
    used = {u for col in ("lead_units", "co_units") for lst in tasks[col] for u in lst}
    assert used == set(units)
    assert not any(re.search(r"[\s、,，]", u) for u in units)


# ------------------------------------------------------------------ geography
def test_divisions():
    d = refdata.load_divisions(CITY)
    assert d["code"].is_unique
    streets = d[d["level"] == "street"]
    assert len(streets) == 10
    assert streets["name"].str.endswith("街道").all()
    assert set(streets["parent_code"]) == {"620502", "620503"}
    assert (streets["code"].str.len() == 9).all()


def test_communities(communities):
    assert len(communities) == 120
    assert communities["community_code"].is_unique
    assert communities["name"].is_unique
    assert communities["name"].str.endswith("社区").all()
    assert communities["community_code"].str.fullmatch(r"\d{12}").all()
    assert (communities["community_code"].str[:9] == communities["street_code"]).all()
    assert communities["code_synthetic"].all()
    streets = refdata.load_divisions(CITY).query("level == 'street'")
    assert set(communities["street_code"]) == set(streets["code"])  # all 10 streets used
    parent = dict(zip(streets["code"], streets["parent_code"]))
    assert (communities["street_code"].map(parent) == communities["district_code"]).all()
    assert (~communities["synthetic"]).sum() == 25


def test_circles(communities):
    circles = refdata.load_circles(CITY)
    members = refdata.load_circle_members(CITY)
    assert len(circles) == 6 and circles["circle_code"].is_unique
    assert set(members["community_code"]) <= set(communities["community_code"])
    assert set(members["circle_code"]) == set(circles["circle_code"])
    assert set(members["role"]) == {"anchor", "member"}
    anchors = members[members["role"] == "anchor"]
    assert anchors["circle_code"].is_unique and len(anchors) == 6
    assert dict(zip(anchors["circle_code"], anchors["community_code"])) == dict(
        zip(circles["circle_code"], circles["anchor_community"]))
    assert (members["role"] == "member").sum() == 19
    assert members["community_code"].is_unique  # no community in two circles
    real = set(communities.loc[~communities["synthetic"], "community_code"])
    assert set(members["community_code"]) == real


def test_city_yaml(city_cfg):
    assert city_cfg["city_code"] == "620500"
    b = city_cfg["bbox"]
    for lng, lat in ((105.72, 34.58), (105.89, 34.56)):
        assert b["min_lng"] < lng < b["max_lng"] and b["min_lat"] < lat < b["max_lat"]
    assert refdata.typology_path(city_cfg).is_file()
    grades = refdata.load_typology(city_cfg)["grades"]
    assert [g["label"] for g in grades] == ["品质型", "提升型", "基础型"]


# ------------------------------------------------------------------ mappings
def test_category_codes_exist(categories):
    known = set(categories["category_code"])
    for name, df in (("amap", refdata.load_amap_typecodes()),
                     ("gbt", refdata.load_gbt4754()),
                     ("keywords", refdata.load_keywords()),
                     ("brands", refdata.load_brands())):
        unknown = set(df["category_code"]) - known
        assert not unknown, f"{name}: {unknown}"


def test_amap_typecodes():
    df = refdata.load_amap_typecodes()
    assert df["typecode"].str.fullmatch(r"\d{4}|\d{6}").all()
    assert df["typecode"].is_unique
    assert {"060200", "0602", "0604"} <= set(df["typecode"])


def test_gbt_and_keywords():
    g = refdata.load_gbt4754()
    assert g["industry_code"].str.fullmatch(r"\d{4}").all() and g["industry_code"].is_unique
    k = refdata.load_keywords()
    assert k["keyword"].is_unique
    assert set(k["field"]) <= {"name", "scope", "any"}
    b = refdata.load_brands()
    assert b["brand"].is_unique
    assert all(isinstance(a, list) for a in b["aliases"])


# ------------------------------------------------------------------ thresholds / targets
def test_walk_threshold(categories, city_cfg):
    th = refdata.walk_threshold_m(categories, city_cfg)
    assert th["convenience_store"] == pytest.approx(400.0)
    assert th["supermarket"] == pytest.approx(1200.0)
    cfg = dict(city_cfg, walk_minutes_override={"wet_market": 10})
    assert refdata.walk_threshold_m(categories, cfg)["wet_market"] == pytest.approx(800.0)
    with pytest.raises(ValueError):
        refdata.walk_threshold_m(categories, dict(city_cfg, walk_minutes_override={"nope": 1}))


def test_targets():
    t = refdata.load_targets(CITY)
    cov = t[(t["indicator"] == "communities_covered_share") & (t["level"] == "city")]
    got = {d: v for d, v in zip(cov["due_date"], cov["target_value"])}
    assert got[dt.date(2023, 12, 31)] == pytest.approx(0.3)
    assert got[dt.date(2024, 12, 31)] == pytest.approx(0.7)
    assert got[dt.date(2025, 12, 31)] == pytest.approx(1.0)
    share = t[t["unit"] == "share"]["target_value"]
    assert share.between(0, 1).all()
    assert set(t["comparator"]) <= {">=", "<=", "=", ">", "<"}


def test_config_dir_override(tmp_path, monkeypatch):
    (tmp_path / "taxonomy").mkdir()
    (tmp_path / "taxonomy" / "categories.csv").write_text(
        "category_code,annex5_order,walk_minutes,required_for_coverage,in_annex5\n"
        "x,1,5,true,false\n", encoding="utf-8")
    monkeypatch.setenv("LIFECIRCLE_CONFIG_DIR", str(tmp_path))
    assert refdata.config_dir() == tmp_path
    df = refdata.load_categories()
    assert bool(df.loc[0, "required_for_coverage"]) is True
    assert bool(df.loc[0, "in_annex5"]) is False
    assert df["walk_minutes"].dtype.kind == "i"


def test_parse_bool():
    assert refdata.parse_bool("True") is True and refdata.parse_bool("false") is False
    with pytest.raises(ValueError):
        refdata.parse_bool("maybe")
    assert refdata.split_list("a; b;") == ["a", "b"]
    assert refdata.split_list(float("nan")) == []
