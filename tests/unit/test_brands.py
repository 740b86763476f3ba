"""Brand normalisation, known-brand mapping and the chain flag."""
import pandas as pd
import pytest

from lifecircle.ingest.brands import brand_column, chain_flags, normalise_brand


@pytest.mark.parametrize("name, brand", [
    ("美宜佳便利店（进步巷店）", "美宜佳便利店"),
    ("美宜佳(民主路店)", "美宜佳"),
    ("美宜佳 (民主路店) ", "美宜佳"),
    ("老王包子第2分店", "老王包子"),
    ("老王包子第12分店", "老王包子"),
    ("老王包子二分店", "老王包子"),
    ("老王包子第十二分店", "老王包子"),
    ("老王包子分店", "老王包子"),
    ("老王包子", "老王包子"),
    ("  老王包子  ", "老王包子"),
    # combined / stacked suffixes are removed one layer at a time
    ("老王包子（进步巷店）第2分店", "老王包子"),
    ("老王包子第2分店（进步巷店）", "老王包子"),
    ("老王包子二分店(民主路店)（秦州）", "老王包子"),
    ("老王包子分店分店", "老王包子"),
    # mixed full-/half-width brackets
    ("老王包子（民主路店)", "老王包子"),
    # a bracket in the middle is part of the name
    ("（老王）包子铺", "（老王）包子铺"),
    # ends in 店 but not a branch marker
    ("便利店", "便利店"),
])
def test_normalise_brand(name, brand):
    assert normalise_brand(name) == brand


@pytest.mark.parametrize("name, brand", [
    ("（进步巷店）", "（进步巷店）"),
    ("分店", "分店"),
    ("第2分店", "第2分店"),
    ("  (民主路店) ", "(民主路店)"),
])
def test_name_that_is_only_a_suffix_is_kept(name, brand):
    assert normalise_brand(name) == brand


def test_normalise_empty_and_none():
    assert normalise_brand("") == ""
    assert normalise_brand(None) == ""


KNOWN = pd.DataFrame({
    "brand": ["美宜佳", "唐久便利", "京东便利店"],
    "category_code": ["convenience_store"] * 3,
    "aliases": ["美宜佳便利店;Meiyijia", "唐久;唐久大卖场", ""],
})


def test_brand_column_maps_aliases_and_flags_known():
    names = pd.Series(["美宜佳便利店（进步巷店）", "Meiyijia(民主路店)", "唐久大卖场第2分店", "京东便利店二分店",
                       "老王包子（进步巷店）", None, "唐久"], index=[5, 6, 7, 8, 9, 10, 11])
    brand, known = brand_column(names, KNOWN)
    assert list(brand.index) == [5, 6, 7, 8, 9, 10, 11]
    assert brand.tolist() == ["美宜佳", "美宜佳", "唐久便利", "京东便利店", "老王包子", "", "唐久便利"]
    assert known.tolist() == [True, True, True, True, False, False, True]


def test_brand_column_longest_alias_wins():
    known = pd.DataFrame({"brand": ["唐久便利", "唐久大卖场连锁"], "aliases": ["唐久", ""]})
    brand, is_known = brand_column(pd.Series(["唐久大卖场连锁(民主路店)", "唐久(民主路店)"]), known)
    assert brand.tolist() == ["唐久大卖场连锁", "唐久便利"]
    assert is_known.tolist() == [True, True]


def test_brand_column_no_known_brands():
    names = pd.Series(["老王包子（进步巷店）", "老王包子二分店"])
    brand, known = brand_column(names, pd.DataFrame({"brand": [], "aliases": []}))
    assert brand.tolist() == ["老王包子", "老王包子"]
    assert known.tolist() == [False, False]


def test_brand_column_accepts_aliases_as_the_loader_returns_them():
    known = KNOWN.assign(aliases=[["美宜佳便利店", "Meiyijia"], ["唐久", "唐久大卖场"], []])
    brand, is_known = brand_column(pd.Series(["Meiyijia(民主路店)", "唐久大卖场第2分店", "京东便利店"]), known)
    assert brand.tolist() == ["美宜佳", "唐久便利", "京东便利店"]
    assert is_known.tolist() == [True, True, True]


def test_chain_flags_known_or_enough_outlets():
    brands = pd.Series(["美宜佳", "老王包子", "老王包子", "老王包子", "小李面馆", "小李面馆", "美宜佳"])
    known = pd.Series([True, False, False, False, False, False, True])
    flags = chain_flags(brands, known, min_outlets=3)
    assert flags.tolist() == [True, True, True, True, False, False, True]
    flags2 = chain_flags(brands, known, min_outlets=2)
    assert flags2.tolist() == [True] * 7
    flags4 = chain_flags(brands, known, min_outlets=4)
    assert flags4.tolist() == [True, False, False, False, False, False, True]
