"""缺什么 with survey demands, survey-reported figures, Shenzhen's development forms and
Zhanjiang's pairs, on a hand-made city; values worked by hand or by brute force."""
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.indicator_rows import indicator
from lifecircle.coverage import plan_views as pv
from lifecircle.coverage.indicators import units

REPO = Path(__file__).resolve().parents[2]
DIVISIONS = pd.DataFrame({"code": ["620500", "620502"], "name": ["天水市", "秦州区"], "level": ["city", "district"],
                          "parent_code": ["", "620500"]})
COMMUNITIES = pd.DataFrame({"community_code": ["K1", "K2", "K3", "K4"], "name": ["甲", "乙", "丙", "丁"],
                            "district_code": ["620502"] * 4, "population": [1000, 2000, 3000, 400]})
CIRCLES = pd.DataFrame({"circle_code": ["Q1", "Q2"], "name": ["一圈", "二圈"]})
# K2 belongs to both circles; K4 to none
MEMBERS = pd.DataFrame({"circle_code": ["Q1", "Q1", "Q2", "Q2"], "community_code": ["K1", "K2", "K2", "K3"]})
CATEGORIES = pd.DataFrame({
    "category_code": ["shop", "market", "pharmacy", "bookstore"], "name_zh": ["便利店", "菜市场", "药店", "新式书店"],
    "category_group": ["basic", "basic", "basic", "quality"], "required_for_coverage": [True, True, False, False]})
#            shop          market        pharmacy      bookstore      (present, population_within)
ACCESS_ROWS = {
    "K1": [(True, 1000), (False, 200), (False, 0), (False, 100)],
    "K2": [(False, 500), (True, 2000), (False, 0), (True, 2000)],
    "K3": [(True, 3000), (True, 3000), (True, 3000), (False, 0)],
    "K4": [(False, 0), (False, 0), (False, 0), (False, 0)],
}
ACCESS = pd.DataFrame([{"community_code": k, "category_code": c, "present": p, "population_within": w,
                        "method": "network"}
                       for k, rows in ACCESS_ROWS.items() for c, (p, w) in zip(CATEGORIES["category_code"], rows)])
SURVEY_CATS = pd.DataFrame({
    "circle_code": ["Q1", "Q1", "Q1", "Q1"], "category_code": ["shop", "market", "pharmacy", "bookstore"],
    "outlets": [3, 0, 2, 0], "employees_10k": [0.02, 0.0, 0.01, 0.0], "chain_outlets": [2, 0, 1, 0],
    "demand_list": ["希望延长营业时间", "缺少菜市场", "价格偏高", "缺少新式书店、药店"]})
MENTIONS = pd.DataFrame({"circle_code": ["Q1", "Q2", "Q2"], "category_code": ["market", "pharmacy", "shop"],
                         "respondents": [2, 3, 1]})
SURVEYS = pd.DataFrame({"circle_code": ["Q1"], "development_form": ["clustered"], "commercial_centres": [2],
                        "residents_covered_10k": [0.3], "smart_platform": [True]})


@pytest.fixture(scope="module")
def unit_list():
    return units(COMMUNITIES, DIVISIONS, CIRCLES, MEMBERS)


get = indicator


def test_category_terms():
    assert pv.category_terms("生鲜超市(菜店)") == ["生鲜超市", "菜店"]
    assert pv.category_terms("邮政快递综合服务点（快件箱组）") == ["邮政快递综合服务点", "快件箱组"]
    assert pv.category_terms("其他") == []


def test_survey_demands():
    got = pv.survey_demands(SURVEY_CATS, CATEGORIES)
    # shop: "希望延长营业时间" is about service, not absence; pharmacy's own "价格偏高" neither,
    # but the bookstore row names 药店
    assert got.values.tolist() == [["Q1", "market", "缺少菜市场"], ["Q1", "pharmacy", "缺少新式书店、药店"],
                                   ["Q1", "bookstore", "缺少新式书店、药店"]]


def test_missing_categories_hand_worked():
    got = pv.missing_categories(ACCESS, COMMUNITIES, MEMBERS, CATEGORIES, pv.survey_demands(SURVEY_CATS, CATEGORIES),
                                MENTIONS)
    assert list(got.columns) == pv.MISSING_COLUMNS
    rows = [tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in r)
            for r in got[["circle_code", "community_code", "category_code", "required", "residents_affected",
                          "demanded_by_survey", "survey_mentions", "annex5_demand"]].itertuples(index=False)]
    assert rows == [
        # Q1: K1 lacks market (required, 1000-200, form + 2 respondents), pharmacy and bookstore
        # (not required but asked for on the form); K2 lacks shop (required)
        ("Q1", "K1", "market", True, 800, True, 2, "缺少菜市场"),
        ("Q1", "K1", "pharmacy", False, 1000, True, 0, "缺少新式书店、药店"),
        ("Q1", "K1", "bookstore", False, 900, True, 0, "缺少新式书店、药店"),
        ("Q1", "K2", "shop", True, 1500, False, 0, None),
        ("Q1", "K2", "pharmacy", False, 2000, True, 0, "缺少新式书店、药店"),
        # Q2: K2 lacks shop (1 respondent) and pharmacy (3 respondents, not required); K3 lacks
        # only bookstore, which nobody in Q2 asked for -> no row
        ("Q2", "K2", "shop", True, 1500, True, 1, None),
        ("Q2", "K2", "pharmacy", False, 2000, True, 3, None),
        # K4 is in no circle: its required gaps only
        (None, "K4", "shop", True, 400, False, 0, None),
        (None, "K4", "market", True, 400, False, 0, None),
    ]
    assert set(got["method"]) == {"network"}


def test_survey_indicators(unit_list):
    got = pv.survey_indicators("2024-05", unit_list, SURVEY_CATS, SURVEYS)
    assert get(got, "circle", "Q1", "reported_outlets") == (5.0, None, None, "survey")
    assert get(got, "circle", "Q1", "reported_employees_10k") == (0.03, None, None, "survey")
    assert get(got, "circle", "Q1", "reported_chain_share") == (0.6, 3.0, 5.0, "survey")
    assert get(got, "circle", "Q1", "reported_commercial_centres") == (2.0, None, None, "survey")
    assert get(got, "circle", "Q2", "reported_outlets") == (None, None, None, "survey")   # no form
    assert get(got, "city", "620500", "reported_outlets") == (5.0, None, None, "survey")
    assert get(got, "city", "620500", "reported_residents_covered_10k") == (0.3, None, None, "survey")
    # m² per 100 households cannot be derived from a share: no_data, never a made-up figure
    for level, code in (("circle", "Q1"), ("circle", "Q2"), ("city", "620500")):
        assert get(got, level, code, "facility_m2_per_100_households") == (None, None, None, "no_data")
    assert set(got["level"]) == {"circle", "city"}


@pytest.mark.parametrize("forms, expected", [
    # clustered 2/5, street_block 1/5, dispersed 1/5, one circle without a form -> each >= 20%
    (["clustered", "clustered", "street_block", None, "dispersed"], ((0.4, 0.2, 0.2), 1.0, 0.2, 1.0)),
    (["clustered", "clustered", "street_block", None, "street_block"], ((0.4, 0.4, 0.0), 1.0, 0.0, 0.0)),
])
def test_development_form_shares(forms, expected):
    codes = [f"Q{i}" for i in range(1, 6)]
    circles = pd.DataFrame({"circle_code": codes, "name": codes})
    ul = units(COMMUNITIES, DIVISIONS, circles, MEMBERS.iloc[0:0])
    surveys = pd.DataFrame({"circle_code": [c for c, f in zip(codes, forms) if f],
                            "development_form": [f for f in forms if f]})
    got = pv.development_form_indicators("2024-05", ul, surveys)
    shares, unreported, low, met = expected
    for form, share in zip(pv.DEVELOPMENT_FORMS, shares):
        assert get(got, "city", "620500", f"development_form_{form}_share") == (share, share * 5, 5.0, "survey")
    assert get(got, "city", "620500", "development_form_unreported")[0] == unreported
    assert get(got, "city", "620500", "development_form_min_share")[0] == low
    assert get(got, "city", "620500", "development_forms_each_min_share_met")[0] == met


def test_development_forms_without_any_form(unit_list):
    got = pv.development_form_indicators("2024-05", unit_list, SURVEYS.iloc[0:0])
    assert get(got, "city", "620500", "development_form_clustered_share")[0] == 0.0
    assert get(got, "city", "620500", "development_forms_each_min_share_met")[0] is None


PAIR_CATS = ["convenience_store", "breakfast", "wet_market", "fresh_food_store", "repair", "elderly_care", "childcare"]


def test_pairs_file_uses_taxonomy_slugs():
    pairs = pv.load_pairs(REPO / "config/typology/zhanjiang_pairs.csv")
    taxonomy = set(pd.read_csv(REPO / "config/taxonomy/categories.csv")["category_code"])
    assert set(pairs["category_code"]) <= taxonomy
    assert dict(pairs.drop_duplicates("pair_code")[["pair_code", "label_zh"]].values) == {
        "store_breakfast": "一店一早", "vegetable_repair": "一菜一修", "elderly_childcare": "一老一小"}


def test_pairs_match_brute_force(unit_list):
    rng = np.random.default_rng(11)
    present = {(k, c): bool(rng.random() < 0.6) for k in COMMUNITIES["community_code"] for c in PAIR_CATS}
    access = pd.DataFrame([{"community_code": k, "category_code": c, "present": p, "method": "network"}
                           for (k, c), p in present.items()])
    cats = pd.DataFrame({"category_code": PAIR_CATS})
    pairs = pv.load_pairs(REPO / "config/typology/zhanjiang_pairs.csv")
    got = pv.pair_indicators("2024-05", unit_list, access, pairs, cats)
    rule = {"store_breakfast": lambda h: h("convenience_store") and h("breakfast"),
            "vegetable_repair": lambda h: (h("wet_market") or h("fresh_food_store")) and h("repair"),
            "elderly_childcare": lambda h: h("elderly_care") and h("childcare")}   # canteen not in this taxonomy
    for u in unit_list:
        holds = {code: [f(lambda c, k=k: present[(k, c)]) for k in sorted(u.communities)] for code, f in rule.items()}
        for code, flags in holds.items():
            n = len(flags)
            assert get(got, u.level, u.code, f"{code}_share") == (round(sum(flags) / n, 4), float(sum(flags)),
                                                                  float(n), "network"), (u, code)
        all_three = [all(x) for x in zip(*holds.values())]
        assert get(got, u.level, u.code, "pairs_all_share")[:2] == (round(sum(all_three) / len(all_three), 4),
                                                                    float(sum(all_three)))


def test_pair_not_judged_when_taxonomy_lacks_a_side(unit_list):
    access = pd.DataFrame([{"community_code": k, "category_code": c, "present": True, "method": "network"}
                           for k, c in itertools.product(COMMUNITIES["community_code"], ["convenience_store"])])
    got = pv.pair_indicators("2024-05", unit_list, access, pv.load_pairs(REPO / "config/typology/zhanjiang_pairs.csv"),
                             pd.DataFrame({"category_code": ["convenience_store", "pharmacy"]}))
    assert get(got, "city", "620500", "store_breakfast_share") == (None, None, None, "no_data")
    assert get(got, "community", "K1", "pairs_all_share") == (None, None, None, "no_data")


def test_pairs_file_errors_name_the_row(tmp_path):
    bad = tmp_path / "pairs.csv"
    bad.write_text("pair_code,label_zh,side,category_code\nx,一店一早,store,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pairs.csv: row 2 has an empty field"):
        pv.load_pairs(bad)


def test_typology_indicator_is_the_rank(unit_list):
    grades = pd.DataFrame({"circle_code": ["Q1", "Q2"], "grade_rank": [1, 0]})
    got = pv.typology_indicators("2024-05", unit_list, grades)
    assert get(got, "circle", "Q1", "typology") == (1.0, None, None, "rules")
    assert get(got, "circle", "Q2", "typology") == (0.0, None, None, "rules")
