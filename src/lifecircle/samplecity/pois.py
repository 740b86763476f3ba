"""AMap (高德) v5 POI objects for the sample city, as the fake AMap server serves them.

Why: AMap is the second, independent view of the same outlets, with its own ids, its
own naming habits (branch suffixes dropped), GCJ-02 coordinates, multi-code
``typecode`` values and ``[]`` for empty fields. About 90 % of outlets are listed.
Private ``_open_date``/``_close_date``/``_outlet_id`` fields let the fake server show
the world as of a date; it strips every ``_`` field before answering. Typecodes come
from ``config/mappings/amap_typecode.csv``; categories without a code of their own get
the generic codes AMap really uses for them and are recognisable by name keywords.
Dirt, counted: ~3 % of POIs of mapped categories carry a generic, unmapped typecode,
and a few lines are exact duplicates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lifecircle.geo import wgs84_to_gcj02
from lifecircle.samplecity.jsonl import Constant, Raw, encode_records

LISTED_SHARE = 0.90
UNMAPPED_SHARE = 0.03
DUPLICATE_SHARE = 0.002
MULTI_CODE_SHARE = 0.04
BRANCH_DROPPED_SHARE = 0.30
NO_TEL_SHARE = 0.35
NO_ADDRESS_SHARE = 0.03
MIN_DUPLICATES = 3

_ID_CHARS = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))

TOP_LEVEL = {"05": "餐饮服务", "06": "购物服务", "07": "生活服务", "08": "体育休闲服务",
             "09": "医疗保健服务", "14": "科教文化服务"}
TYPE_NAMES = {
    "050000": "餐饮服务;餐饮相关场所;餐饮相关", "050100": "餐饮服务;中餐厅;中餐厅",
    "050300": "餐饮服务;快餐厅;快餐厅", "060000": "购物服务;购物相关场所;购物相关场所",
    "060200": "购物服务;便民商店/便利店;便民商店/便利店", "060400": "购物服务;超级市场;超市",
    "060700": "购物服务;综合市场;综合市场", "060703": "购物服务;综合市场;农副产品市场",
    "060704": "购物服务;综合市场;果品市场", "060705": "购物服务;综合市场;蔬菜市场",
    "060706": "购物服务;综合市场;水产海鲜市场", "061000": "购物服务;个人用品/化妆品店;个人用品/化妆品店",
    "061205": "购物服务;文化用品店;书店", "070000": "生活服务;生活服务场所;生活服务场所",
    "070400": "生活服务;邮局;邮局", "070401": "生活服务;邮局;邮政速递",
    "070500": "生活服务;物流速递;物流速递", "071100": "生活服务;美容美发店;美容美发店",
    "071200": "生活服务;维修站点;维修站点", "071300": "生活服务;摄影冲印店;摄影冲印",
    "071400": "生活服务;洗浴推拿场所;洗浴推拿场所", "071500": "生活服务;洗衣店;洗衣店",
    "072000": "生活服务;托儿所;托儿所", "080000": "体育休闲服务;体育休闲服务场所;体育休闲服务场所",
    "080100": "体育休闲服务;运动场馆;运动场馆", "080111": "体育休闲服务;运动场馆;健身中心",
    "080300": "体育休闲服务;娱乐场所;娱乐场所", "090000": "医疗保健服务;医疗保健服务场所;医疗保健服务场所",
    "090601": "医疗保健服务;医药保健销售店;药房", "141400": "科教文化服务;培训机构;培训机构",
}
# Categories without an AMap code of their own: the generic codes they are filed under.
FALLBACK_TYPECODES = {
    "breakfast": ["050300", "050100"], "fresh_food_store": ["060400", "060200"],
    "housekeeping": ["070000"], "recycling": ["070000"], "elderly_care": ["070000", "090000"],
    "education": ["141400"], "specialty_dining": ["050100", "050300", "050000"],
    "leisure": ["080300"], "basic_other": ["060000"], "quality_other": ["060000", "061000"],
    "community_canteen": ["050000"], "front_warehouse": ["060400"],
}
# Second code of a multi-code POI ("一店多能"): the companion category.
COMPANION = {"convenience_store": "post_parcel", "supermarket": "fresh_food_store",
             "pharmacy": "wellness", "hair_beauty": "wellness", "breakfast": "specialty_dining",
             "photo_print": "bookstore", "laundry": "repair"}
GENERIC_UNMAPPED = ["060000", "070000", "080000", "090000", "050000", "061000"]


@dataclass
class PoiOutput:
    lines: list[str]
    poi_id: np.ndarray  # per outlet, '' when not listed
    dirt: pd.DataFrame
    counts: dict
    gcj_lng: np.ndarray
    gcj_lat: np.ndarray


class TypecodeTable:
    """AMap typecode rows from config (exact 6-digit codes and 4-digit prefixes)."""

    def __init__(self):
        try:
            from lifecircle import refdata

            df = refdata.load_amap_typecodes()
        except FileNotFoundError:
            df = pd.DataFrame({"typecode": [], "category_code": [], "note": [], "is_prefix": []})
        self.exact: dict[str, str] = {}
        self.prefix: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.by_cat_exact: dict[str, list[str]] = {}
        self.by_cat_prefix: dict[str, list[str]] = {}
        for code, cat, note in zip(df["typecode"], df["category_code"], df["note"]):
            if len(code) == 4:
                self.prefix[code] = cat
                self.by_cat_prefix.setdefault(cat, []).append(code)
            else:
                self.exact[code] = cat
                self.notes[code] = note
                self.by_cat_exact.setdefault(cat, []).append(code)
        if not self.exact:  # no config: a minimal built-in table
            for cat, code in [("convenience_store", "060200"), ("supermarket", "060400"),
                              ("wet_market", "060700"), ("hair_beauty", "071100"),
                              ("laundry", "071500"), ("pharmacy", "090601"), ("post_parcel", "070500")]:
                self.exact[code] = cat
                self.by_cat_exact.setdefault(cat, []).append(code)

    def is_mapped(self, code: str) -> bool:
        return code in self.exact or code[:4] in self.prefix

    def codes_for(self, cat: str) -> list[str]:
        codes = list(self.by_cat_exact.get(cat, []))
        codes += [p + "00" for p in self.by_cat_prefix.get(cat, []) if p + "00" not in codes]
        return codes or FALLBACK_TYPECODES.get(cat, ["060000"])

    def type_name(self, code: str, brand: str = "") -> str:
        if code in TYPE_NAMES:
            return TYPE_NAMES[code]
        base = TYPE_NAMES.get(code[:4] + "00")
        if base and brand:
            return base.rsplit(";", 1)[0] + ";" + brand
        if base:
            return base
        top = TOP_LEVEL.get(code[:2], "生活服务")
        note = self.notes.get(code, "")
        return f"{top};{note};{note}" if note else f"{top};{top}场所;{top}场所"


def _unique_ids(n: int, rng) -> np.ndarray:
    """``B0FF`` + 6 base-36 characters, unique (drawn as integers, checked by sorting)."""
    space = len(_ID_CHARS) ** 6
    if n > space // 2:
        raise ValueError("too many POIs for 6-character ids")
    val = rng.integers(0, space, size=n)
    for _ in range(100):
        order = np.argsort(val, kind="stable")
        dup = np.zeros(n, dtype=bool)
        dup[order[1:][val[order][1:] == val[order][:-1]]] = True
        if not dup.any():
            break
        val[dup] = rng.integers(0, space, size=int(dup.sum()))
    digits = (val[:, None] // (len(_ID_CHARS) ** np.arange(5, -1, -1))) % len(_ID_CHARS)
    chars = _ID_CHARS[digits]
    return np.char.add("B0FF", np.ascontiguousarray(chars).view("U6").ravel())


def per_unique(values: np.ndarray, fn, dtype=object) -> np.ndarray:
    """``fn`` applied once per distinct value, broadcast back (values repeat a lot)."""
    codes, uniques = pd.factorize(values)
    return np.asarray([fn(u) for u in uniques], dtype=dtype)[codes]


def _tel(n: int, citycode: str, rng) -> np.ndarray:
    kind = rng.uniform(size=n)
    land = np.char.add(f"{citycode}-", rng.integers(2_000_000, 9_000_000, size=n).astype("U7"))
    mob = np.char.add("1", rng.choice(["33", "39", "51", "55", "77", "80", "89", "99"], size=n))
    mob = np.char.add(mob, rng.integers(10_000_000, 100_000_000, size=n).astype("U8"))
    tel = np.where(kind < 0.6, land, mob).astype(object)
    two = rng.uniform(size=n) < 0.05
    tel[two] = tel[two] + ";" + mob[two].astype(object)
    tel[rng.uniform(size=n) < NO_TEL_SHARE] = None  # -> []
    return tel


def build_pois(o: dict[str, np.ndarray], profile, rng: np.random.Generator) -> PoiOutput:
    """POI lines for outlets ``o`` (needs outlet_id, category_code, chain, brand,
    brand_disp, shop_name, road, house_no, district_code, district_name, lng, lat,
    open_date, close_date)."""
    n = len(o["outlet_id"])
    listed = np.nonzero(rng.uniform(size=n) < LISTED_SHARE)[0]
    k = len(listed)
    t = TypecodeTable()
    cats = o["category_code"][listed]
    chain = o["chain"][listed]
    brand = o["brand_disp"][listed]
    ids = _unique_ids(k, rng)
    # names: chains sometimes without the branch suffix
    name = o["shop_name"][listed].copy()
    drop = chain & (rng.uniform(size=k) < BRANCH_DROPPED_SHARE)
    name[drop] = brand[drop]
    # typecodes
    typecode = np.empty(k, dtype=object)
    brand_rank = {b: i for i, b in enumerate(sorted(set(brand[chain])))}
    cat_i, cat_u = pd.factorize(cats)
    for ci, c in enumerate(cat_u):
        m = np.nonzero(cat_i == ci)[0]
        codes = t.codes_for(c)
        w = np.where(np.arange(len(codes)) == 0, 3.0, 1.0)
        typecode[m] = np.asarray(codes, dtype=object)[rng.choice(len(codes), size=len(m), p=w / w.sum())]
        prefixes = t.by_cat_prefix.get(c, [])
        if prefixes:
            own = m[chain[m] & (rng.uniform(size=len(m)) < 0.6)]
            typecode[own] = [f"{prefixes[0]}{brand_rank[b] % 98 + 1:02d}" for b in brand[own]]
    mapped_cat = per_unique(cats, lambda c: bool(t.by_cat_exact.get(c) or t.by_cat_prefix.get(c)), bool)
    # dirt: generic unmapped codes
    cand = np.nonzero(mapped_cat)[0]
    n_unm = min(len(cand), int(round(UNMAPPED_SHARE * k)))
    unm = np.sort(rng.choice(cand, size=n_unm, replace=False)) if n_unm else cand[:0]
    generic = [g for g in GENERIC_UNMAPPED if not t.is_mapped(g)]
    for i in unm:
        same_top = [g for g in generic if g[:2] == typecode[i][:2]]
        typecode[i] = same_top[0] if same_top else generic[int(rng.integers(0, len(generic)))]
    key = typecode + "\t" + np.where(chain, brand, "").astype(object)
    type_name = per_unique(key, lambda x: t.type_name(*x.split("\t")))
    # multi-code POIs (not dirt): primary|companion
    is_unm = np.zeros(k, dtype=bool)
    is_unm[unm] = True
    multi = np.nonzero((rng.uniform(size=k) < MULTI_CODE_SHARE) & ~is_unm)[0]
    n_multi = 0
    for i in multi:
        comp = COMPANION.get(cats[i])
        if not comp:
            continue
        c2 = t.codes_for(comp)[0]
        if c2 == typecode[i]:
            continue
        typecode[i] = f"{typecode[i]}|{c2}"
        type_name[i] = f"{type_name[i]}|{t.type_name(c2)}"
        n_multi += 1
    # location, address, phone
    glng, glat = wgs84_to_gcj02(o["lng"][listed], o["lat"][listed])
    glng, glat = np.round(glng, 6), np.round(glat, 6)
    location = [f"{a:.6f},{b:.6f}" for a, b in zip(glng, glat)]
    address = o["road"][listed] + o["house_no"][listed].astype(str).astype(object) + "号"
    no_address = np.nonzero(rng.uniform(size=k) < NO_ADDRESS_SHARE)[0]
    tel = _tel(k, profile.citycode, rng)
    tel_tok = np.where(tel == None, "[]", '"' + tel.astype(str).astype(object) + '"')  # noqa: E711
    open_s = np.datetime_as_string(o["open_date"].astype("datetime64[D]")[listed], unit="D")
    close_arr = o["close_date"].astype("datetime64[D]")[listed]
    close_tok = np.where(np.isnat(close_arr), "null",
                         '"' + np.datetime_as_string(close_arr, unit="D").astype(object) + '"')
    base = encode_records({
        "id": ids.astype(object),
        "name": name,
        "type": type_name,
        "typecode": typecode,
        "address": address,
        "location": location,
        "pcode": Constant(profile.province_code),
        "pname": Constant(profile.province),
        "citycode": Constant(profile.citycode),
        "cityname": Constant(profile.name),
        "adcode": o["district_code"][listed],
        "adname": o["district_name"][listed],
        "tel": Raw(tel_tok),
        "biz_ext": Constant({}),
        "_open_date": open_s.astype(object),
        "_close_date": Raw(close_tok),
        "_outlet_id": o["outlet_id"][listed],
    }, {int(i): {"address": []} for i in no_address})
    # duplicates right after their original (only clean POIs are duplicated)
    clean = np.nonzero(~is_unm)[0]
    n_dup = min(len(clean), max(MIN_DUPLICATES, int(round(DUPLICATE_SHARE * k)))) if k >= 100 else 0
    dup = np.sort(rng.choice(clean, size=n_dup, replace=False)) if n_dup else clean[:0]
    rep = np.ones(k, dtype=np.int64)
    rep[dup] = 2
    final = np.repeat(np.arange(k), rep)
    lines = [base[i] for i in final.tolist()]
    out_ids = o["outlet_id"][listed]
    is_copy = np.zeros(len(final), dtype=bool)
    is_copy[1:] = final[1:] == final[:-1]
    flagged = np.nonzero(is_copy | is_unm[final])[0]
    fi = final[flagged]
    dirt = pd.DataFrame({
        "source": "amap", "line_no": flagged + 1,
        "kind": np.where(is_copy[flagged], "duplicate", "unmapped_typecode"),
        "detail": np.where(is_copy[flagged], "", typecode[fi].astype(str)),
        "outlet_id": out_ids[fi],
    }, columns=["source", "line_no", "kind", "detail", "outlet_id"])
    poi_id = np.full(n, "", dtype=object)
    poi_id[listed] = ids
    all_glng = np.full(n, np.nan)
    all_glat = np.full(n, np.nan)
    all_glng[listed], all_glat[listed] = glng, glat
    counts = {"lines": len(lines), "pois": int(k), "outlets_not_listed": int(n - k),
              "multi_typecode": int(n_multi), "branch_suffix_dropped": int(drop.sum()),
              "dirt": {"duplicate": int(n_dup), "unmapped_typecode": int(n_unm)}}
    return PoiOutput(lines=lines, poi_id=poi_id, dirt=dirt, counts=counts, gcj_lng=all_glng, gcj_lat=all_glat)
