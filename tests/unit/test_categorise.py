"""Business categories from industry codes, keywords and AMap typecodes (small hand-made tables)."""
import pandas as pd

from lifecircle.ingest.categorise import categorise_registrations, keyword_matcher, typecode_lookup

GBT = pd.DataFrame({
    "industry_code": ["5213", "5212", "8010"],
    "category_code": ["convenience_store", "supermarket", "housekeeping"],
    "industry_name": ["便利店零售", "超级市场零售", "家庭服务"],
})

KEYWORDS = pd.DataFrame([
    ("快递", "express_point", "name"),
    ("快递驿站", "parcel_station", "name"),
    ("早餐", "breakfast", "any"),
    ("包子", "breakfast", "name"),
    ("理发", "barber", "scope"),
    ("便利店", "convenience_store", "name"),
    ("维修", "repair", "scope"),
], columns=["keyword", "category_code", "field"])


def _registrations(rows):
    return pd.DataFrame(rows, columns=["uscc", "name", "industry_code", "business_scope"])


def _categorise(rows):
    out = categorise_registrations(_registrations(rows), GBT, KEYWORDS)
    return list(out["category_code"]), list(out["category_rule"])


def test_industry_code_wins_over_keywords():
    cats, rules = _categorise([("A", "老王包子铺", "5213", "理发服务")])
    assert cats == ["convenience_store"]
    assert rules == ["industry"]


def test_industry_code_is_stripped_before_lookup():
    cats, rules = _categorise([("A", "某店", " 5212 ", None)])
    assert (cats, rules) == (["supermarket"], ["industry"])


def test_keyword_on_name_when_code_unmapped():
    cats, rules = _categorise([("A", "老王包子铺", "9999", "理发服务")])
    assert (cats, rules) == (["breakfast"], ["keyword"])


def test_keyword_on_scope_when_name_has_none():
    cats, rules = _categorise([("A", "星光工作室", None, "理发；美容美发")])
    assert (cats, rules) == (["barber"], ["keyword"])


def test_name_only_keyword_does_not_match_scope():
    # 包子 applies to names only; 早餐 applies to both.
    cats, rules = _categorise([("A", "星光工作室", None, "包子零售"), ("B", "星光工作室", None, "早餐服务")])
    assert cats == [None, "breakfast"]
    assert rules == [None, "keyword"]


def test_scope_only_keyword_does_not_match_name():
    cats, rules = _categorise([("A", "维修理发店", None, None)])
    assert (cats, rules) == ([None], [None])


def test_longer_keyword_wins():
    cats, rules = _categorise([("A", "菜鸟快递驿站（进步巷）", None, None), ("B", "顺丰快递点", None, None)])
    assert cats == ["parcel_station", "express_point"]
    assert rules == ["keyword", "keyword"]


def test_unmapped_stays_none_and_is_not_guessed():
    cats, rules = _categorise([("A", "天水某某科技有限公司", "6510", "软件开发")])
    assert cats == [None]
    assert rules == [None]


def test_mixed_frame_keeps_index_and_other_columns():
    df = _registrations([
        ("A", "美宜佳", "5213", None),
        ("B", "早餐店", None, None),
        ("C", "科技公司", None, "软件"),
        ("D", "修车铺", "", "汽车维修"),
    ])
    df.index = [10, 11, 12, 13]
    out = categorise_registrations(df, GBT, KEYWORDS)
    assert list(out.index) == [10, 11, 12, 13]
    assert list(out["uscc"]) == ["A", "B", "C", "D"]
    assert out["category_code"].tolist() == ["convenience_store", "breakfast", None, "repair"]
    assert out["category_rule"].tolist() == ["industry", "keyword", None, "keyword"]
    assert "category_code" not in df.columns  # input untouched


def test_keyword_matcher_direct():
    by_name = keyword_matcher(KEYWORDS, "name")
    assert by_name("社区快递驿站") == "parcel_station"
    assert by_name("快递") == "express_point"
    assert by_name("早餐") == "breakfast"
    assert by_name("理发") is None
    assert by_name(None) is None
    assert by_name(float("nan")) is None
    nothing = keyword_matcher(KEYWORDS.iloc[0:0], "name")
    assert nothing("快递驿站") is None


def test_keyword_matcher_escapes_regex_characters():
    kw = pd.DataFrame({"keyword": ["A+B", "(维修)"], "category_code": ["x", "y"], "field": ["name", "name"]})
    m = keyword_matcher(kw, "name")
    assert m("店名A+B") == "x"
    assert m("AAB") is None
    assert m("家电(维修)部") == "y"
    assert m("家电维修部") is None


# ------------------------------------------------------------------ AMap typecodes
AMAP = pd.DataFrame({
    "typecode": ["060200", "0602", "0604", "060700", "060201"],
    "category_code": ["convenience_store", "convenience_prefix", "supermarket", "wet_market", "seven_eleven"],
    "note": [""] * 5,
})


def test_typecode_exact_beats_prefix():
    lookup = typecode_lookup(AMAP)
    assert lookup(["060201"]) == "seven_eleven"
    assert lookup(["060200"]) == "convenience_store"
    assert lookup(["060299"]) == "convenience_prefix"
    assert lookup(["060400"]) == "supermarket"


def test_typecode_exact_on_a_later_code_beats_prefix_on_an_earlier_one():
    lookup = typecode_lookup(AMAP)
    assert lookup(["060499", "060700"]) == "wet_market"


def test_typecode_tries_codes_in_order():
    lookup = typecode_lookup(AMAP)
    assert lookup(["060700", "060200"]) == "wet_market"
    assert lookup(["060200", "060700"]) == "convenience_store"
    assert lookup(["060499", "060299"]) == "supermarket"
    assert lookup(["999999", "060299"]) == "convenience_prefix"


def test_typecode_no_codes_or_unknown():
    lookup = typecode_lookup(AMAP)
    assert lookup(None) is None
    assert lookup([]) is None
    assert lookup(["050000", "141200"]) is None


def test_typecode_exact_only_ignores_prefixes():
    lookup = typecode_lookup(AMAP, exact_only=True)
    assert lookup(["060201"]) == "seven_eleven"
    assert lookup(["060299"]) is None
    assert lookup(["060499", "060700"]) == "wet_market"


def test_categorise_pois_exact_then_keyword_then_prefix():
    from lifecircle.ingest.categorise import categorise_pois

    typecodes = pd.Series([["060200"], ["060499"], ["060499"], ["141200"], None, ["060200"]], index=[3, 4, 5, 6, 7, 8])
    names = pd.Series(["老王包子铺", "菜鸟快递驿站", "红星超市", "某单位", "早餐车", None], index=[3, 4, 5, 6, 7, 8])
    out = categorise_pois(typecodes, names, AMAP, KEYWORDS)
    assert list(out.index) == [3, 4, 5, 6, 7, 8]
    assert out.tolist() == [
        "convenience_store",   # exact code beats a name keyword
        "parcel_station",      # a name keyword beats a generic prefix
        "supermarket",         # no keyword: the prefix
        None,                  # nothing maps: unmapped, not guessed
        "breakfast",           # no codes at all: keyword
        "convenience_store",   # no name: exact code
    ]
