"""Indicators on a hand-made city: 4 communities, 2 districts, 1 circle; values worked by hand."""
import pandas as pd
import pytest

from tests.fixtures.indicator_rows import indicator
from lifecircle.coverage.indicators import Unit, compute_indicators, units

DIVISIONS = pd.DataFrame({
    "code": ["620500", "620502", "620503", "620502001"],
    "name": ["天水市", "秦州区", "麦积区", "大城街道"],
    "level": ["city", "district", "district", "street"],
    "parent_code": ["", "620500", "620500", "620502"],
})
COMMUNITIES = pd.DataFrame({
    "community_code": ["K1", "K2", "K3", "K4"],
    "name": ["进步巷社区", "民主路社区", "桥南社区", "道北社区"],
    "district_code": ["620502", "620502", "620503", "620503"],
})
CIRCLES = pd.DataFrame({"circle_code": ["Q1"], "name": ["进步巷生活圈"], "anchor_community": ["K1"], "build_year": [2023]})
MEMBERS = pd.DataFrame({"circle_code": ["Q1", "Q1"], "community_code": ["K1", "K2"], "role": ["anchor", "member"]})
CATEGORIES = pd.DataFrame({
    "category_code": ["shop", "market", "pharmacy"],
    "required_for_coverage": [True, True, False],
})

# present per community x category (pharmacy is not required)
#        shop   market  pharmacy   -> covered?  missing required
# K1     yes    yes     no            yes        0
# K2     yes    no      yes           no         1
# K3     no     no      no            no         2
# K4     yes    no      yes           no         1
PRESENT = {"K1": (True, True, False), "K2": (True, False, True), "K3": (False, False, False), "K4": (True, False, True)}
ACCESS = pd.DataFrame([
    {"community_code": k, "category_code": c, "present": p, "method": "network"}
    for k, flags in PRESENT.items() for c, p in zip(["shop", "market", "pharmacy"], flags)
])
# residents: covered / total per community -> K1 100/150, K2 200/300, K3 0/300, K4 150/250
POINT_FLAGS = pd.DataFrame({
    "point_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7"],
    "community_code": ["K1", "K1", "K2", "K2", "K3", "K4", "K4"],
    "population": [100.0, 50.0, 200.0, 100.0, 300.0, 150.0, 100.0],
    "covered_all": [True, False, True, False, False, True, False],
})
# registered open outlets: K1 3 (1 chain), K2 1 (1 chain), K3 none, K4 2 (0 chain)
OPEN_OUTLETS = pd.DataFrame({
    "community_code": ["K1", "K1", "K1", "K2", "K4", "K4"],
    "is_chain": [True, False, False, True, False, False],
})
LOCATED = pd.DataFrame({"community_code": ["K1", "K1", "K4"]})
SATISFACTION = pd.DataFrame({"circle_code": ["Q1"], "responses": [60], "satisfied": [55]})
SURVEYS = pd.DataFrame({"circle_code": ["Q1"], "facility_area_share_pct": [12.5]})


@pytest.fixture(scope="module")
def unit_list():
    return units(COMMUNITIES, DIVISIONS, CIRCLES, MEMBERS)


@pytest.fixture(scope="module")
def result(unit_list):
    return compute_indicators("2024-05", ACCESS, POINT_FLAGS, COMMUNITIES, unit_list, CATEGORIES,
                              OPEN_OUTLETS, LOCATED, SATISFACTION, SURVEYS, {"Q1"})


get = indicator


def test_units(unit_list):
    assert unit_list == [
        Unit("city", "620500", "天水市", frozenset({"K1", "K2", "K3", "K4"})),
        Unit("district", "620502", "秦州区", frozenset({"K1", "K2"})),
        Unit("district", "620503", "麦积区", frozenset({"K3", "K4"})),
        Unit("circle", "Q1", "进步巷生活圈", frozenset({"K1", "K2"})),
        Unit("community", "K1", "进步巷社区", frozenset({"K1"})),
        Unit("community", "K2", "民主路社区", frozenset({"K2"})),
        Unit("community", "K3", "桥南社区", frozenset({"K3"})),
        Unit("community", "K4", "道北社区", frozenset({"K4"})),
    ]


def test_every_row_carries_period_and_names(result):
    assert set(result["period"]) == {"2024-05"}
    assert list(result.columns) == ["period", "level", "unit_code", "unit_name", "indicator", "value",
                                    "numerator", "denominator", "method"]
    names = result.drop_duplicates("unit_code").set_index("unit_code")["unit_name"].to_dict()
    assert names == {"620500": "天水市", "620502": "秦州区", "620503": "麦积区", "Q1": "进步巷生活圈",
                     "K1": "进步巷社区", "K2": "民主路社区", "K3": "桥南社区", "K4": "道北社区"}


@pytest.mark.parametrize("level, code, expected", [
    ("city", "620500", (0.25, 1.0, 4.0)),
    ("district", "620502", (0.5, 1.0, 2.0)),
    ("district", "620503", (0.0, 0.0, 2.0)),
    ("circle", "Q1", (0.5, 1.0, 2.0)),
    ("community", "K1", (1.0, 1.0, 1.0)),
    ("community", "K2", (0.0, 0.0, 1.0)),
    ("community", "K4", (0.0, 0.0, 1.0)),
])
def test_communities_covered_share(result, level, code, expected):
    assert get(result, level, code, "communities_covered_share") == (*expected, "network")


@pytest.mark.parametrize("level, code, expected", [
    ("city", "620500", (0.45, 450.0, 1000.0)),          # (100+200+0+150) / (150+300+300+250)
    ("district", "620502", (0.6667, 300.0, 450.0)),
    ("district", "620503", (0.2727, 150.0, 550.0)),
    ("circle", "Q1", (0.6667, 300.0, 450.0)),
    ("community", "K3", (0.0, 0.0, 300.0)),
    ("community", "K4", (0.6, 150.0, 250.0)),
])
def test_residents_covered_share(result, level, code, expected):
    assert get(result, level, code, "residents_covered_share") == (*expected, "network")


@pytest.mark.parametrize("level, code, outlets, chain", [
    ("city", "620500", 6.0, (0.3333, 2.0, 6.0)),
    ("district", "620502", 4.0, (0.5, 2.0, 4.0)),
    ("district", "620503", 2.0, (0.0, 0.0, 2.0)),
    ("circle", "Q1", 4.0, (0.5, 2.0, 4.0)),
    ("community", "K2", 1.0, (1.0, 1.0, 1.0)),
    ("community", "K3", 0.0, (None, 0.0, 0.0)),       # no outlets: share undefined, not 0
])
def test_registered_outlets_and_chain_share(result, level, code, outlets, chain):
    assert get(result, level, code, "registered_outlets") == (outlets, None, None, "registry")
    assert get(result, level, code, "chain_share") == (*chain, "registry")


@pytest.mark.parametrize("level, code, n", [("city", "620500", 3.0), ("district", "620503", 1.0),
                                            ("community", "K1", 2.0), ("community", "K3", 0.0)])
def test_located_outlets(result, level, code, n):
    assert get(result, level, code, "located_outlets") == (n, None, None, "map")


@pytest.mark.parametrize("code, missing", [("K1", 0.0), ("K2", 1.0), ("K3", 2.0), ("K4", 1.0)])
def test_missing_basic_categories(result, code, missing):
    assert get(result, "community", code, "missing_basic_categories") == (missing, None, None, "network")


def test_missing_basic_categories_only_for_communities(result):
    levels = set(result.loc[result["indicator"] == "missing_basic_categories", "level"])
    assert levels == {"community"}


def test_satisfaction_pct(result):
    # 55 / 60 = 0.91666.. -> 0.9167 -> 91.67 %
    assert get(result, "circle", "Q1", "satisfaction_pct") == (91.67, 55.0, 60.0, "survey")
    assert get(result, "city", "620500", "satisfaction_pct") == (91.67, 55.0, 60.0, "survey")
    assert not ((result["indicator"] == "satisfaction_pct") & (result["level"].isin(["district", "community"]))).any()


def test_facility_area_share(result):
    assert get(result, "circle", "Q1", "facility_area_share_pct") == (12.5, None, None, "survey")


@pytest.mark.parametrize("level, code, expected", [
    ("city", "620500", (0.5, 2.0, 4.0)),
    ("district", "620502", (1.0, 2.0, 2.0)),
    ("district", "620503", (0.0, 0.0, 2.0)),
])
def test_communities_in_built_circles_share(result, level, code, expected):
    assert get(result, level, code, "communities_in_built_circles_share") == (*expected, "registry")


def test_row_counts(result):
    counts = result.groupby("level").size().to_dict()
    # city: 5 common + built share + city satisfaction; district: 5 + built share;
    # circle: 5 + satisfaction + facility share; community: 5 + missing categories
    assert counts == {"city": 7, "district": 12, "circle": 7, "community": 24}


def test_circle_not_built_and_no_surveys(unit_list):
    out = compute_indicators("2024-05", ACCESS, POINT_FLAGS, COMMUNITIES, unit_list, CATEGORIES, OPEN_OUTLETS,
                             LOCATED, SATISFACTION.iloc[0:0], SURVEYS.iloc[0:0], set())
    assert get(out, "city", "620500", "communities_in_built_circles_share") == (0.0, 0.0, 4.0, "registry")
    assert get(out, "circle", "Q1", "satisfaction_pct") == (None, None, None, "survey")
    assert get(out, "circle", "Q1", "facility_area_share_pct") == (None, None, None, "survey")
    assert not ((out["level"] == "city") & (out["indicator"] == "satisfaction_pct")).any()


def test_approximate_method_is_carried(unit_list):
    out = compute_indicators("2024-05", ACCESS.assign(method="approximate"), POINT_FLAGS, COMMUNITIES, unit_list,
                             CATEGORIES, OPEN_OUTLETS, LOCATED, SATISFACTION, SURVEYS, {"Q1"})
    assert get(out, "city", "620500", "communities_covered_share")[3] == "approximate"
    assert get(out, "city", "620500", "chain_share")[3] == "registry"


def test_circle_with_zero_responses(unit_list):
    sat = pd.DataFrame({"circle_code": ["Q1"], "responses": [0], "satisfied": [0]})
    out = compute_indicators("2024-05", ACCESS, POINT_FLAGS, COMMUNITIES, unit_list, CATEGORIES, OPEN_OUTLETS,
                             LOCATED, sat, SURVEYS, {"Q1"})
    assert get(out, "circle", "Q1", "satisfaction_pct") == (None, 0.0, 0.0, "survey")
