"""Chain brands and shop names.

Why: the plan's chain-share target (连锁化率 >= 30 %) and the registry <-> AMap matcher
both depend on names, so chains must use the brands the pipeline knows
(``config/brands/known_brands.csv``) and branch names must look the way they do in the
wild (美宜佳便利店（进步巷店）, ...（进步巷第2分店）). Independent shops get a trade-name
stem plus a category noun; the noun carries the classification keyword for categories
that have no AMap code of their own. Stems that would spell a known brand or alias are
dropped, so an independent shop never looks like a chain by accident.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lifecircle.samplecity.names import CATEGORY_NOUNS, DEFAULT_NOUNS, SHOP_STEMS

CHAIN_SHARE = 0.25
# relative chance that an outlet of this category belongs to a chain
CHAIN_PROPENSITY = {
    "convenience_store": 0.60, "supermarket": 0.55, "pharmacy": 0.70, "post_parcel": 0.85,
    "laundry": 0.35, "fresh_food_store": 0.15, "breakfast": 0.25, "specialty_dining": 0.25,
    "fitness": 0.30, "hair_beauty": 0.10, "education": 0.15, "bookstore": 0.3,
}
MAX_CHAIN_P = 0.95

BUILTIN_BRANDS = pd.DataFrame([
    ("美宜佳", "convenience_store", ["美宜佳便利店"]),
    ("华润万家", "supermarket", ["华润万家超市"]),
    ("老百姓大药房", "pharmacy", ["老百姓"]),
    ("菜鸟驿站", "post_parcel", ["菜鸟"]),
    ("福奈特", "laundry", ["福奈特洗衣"]),
    ("马子禄牛肉面", "breakfast", ["马子禄"]),
    ("蜜雪冰城", "specialty_dining", ["蜜雪"]),
    ("乐刻运动", "fitness", ["乐刻"]),
], columns=["brand", "category_code", "aliases"])

_ASCII = re.compile(r"[A-Za-z]")


def load_brand_table() -> pd.DataFrame:
    """known_brands.csv when present, else a small built-in list."""
    try:
        from lifecircle import refdata

        df = refdata.load_brands()
        if len(df):
            return df[["brand", "category_code", "aliases"]].reset_index(drop=True)
    except FileNotFoundError:
        pass
    return BUILTIN_BRANDS.copy()


def display_name(brand: str, aliases: list[str]) -> str:
    """How the shop sign reads: the first longer Chinese alias that starts with the brand
    (美宜佳 -> 美宜佳便利店), else the brand itself."""
    for a in aliases:
        if a.startswith(brand) and len(a) > len(brand) and not _ASCII.search(a):
            return a
    return brand


def _forbidden(brands: pd.DataFrame) -> list[str]:
    words = set(brands["brand"])
    for al in brands["aliases"]:
        words.update(a for a in al if len(a) >= 2 and not _ASCII.search(a))
    return sorted(words)


def assign_brands(category: np.ndarray, brands: pd.DataFrame, rng: np.random.Generator):
    """(brand, brand display name) per outlet; '' for independent shops.

    Per-category propensities are scaled so the expected chain share is CHAIN_SHARE.
    """
    n = len(category)
    by_cat = {c: g for c, g in brands.groupby("category_code", sort=False)}
    cat_i, cat_u = pd.factorize(category)
    base = np.array([CHAIN_PROPENSITY.get(c, 0.1) if c in by_cat else 0.0 for c in cat_u])[cat_i]
    cat_pos = {c: i for i, c in enumerate(cat_u)}
    total = base.sum()
    scale = CHAIN_SHARE * n / total if total > 0 else 0.0
    p = np.minimum(base * scale, MAX_CHAIN_P)
    chain = rng.uniform(size=n) < p
    brand = np.full(n, "", dtype=object)
    disp = np.full(n, "", dtype=object)
    for c, g in by_cat.items():
        m = np.nonzero(chain & (cat_i == cat_pos[c]))[0] if c in cat_pos else np.zeros(0, dtype=np.int64)
        if not len(m):
            continue
        w = 1.0 / np.arange(1, len(g) + 1) ** 0.8  # file order ~ market share
        pick = rng.choice(len(g), size=len(m), p=w / w.sum())
        names = np.asarray(list(g["brand"]), dtype=object)
        disps = np.asarray([display_name(b, a) for b, a in zip(g["brand"], g["aliases"])], dtype=object)
        brand[m] = names[pick]
        disp[m] = disps[pick]
    return brand, disp, chain


def shop_names(category: np.ndarray, brand_disp: np.ndarray, chain: np.ndarray,
               place: np.ndarray, brands: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Shop-sign names. Chains: ``<display>（<place>店）``, repeats ``（<place>第k分店）``;
    independents: ``<stem><noun>``."""
    n = len(category)
    out = np.empty(n, dtype=object)
    forbidden = _forbidden(brands)
    cat_i, cat_u = pd.factorize(category)
    for ci, c in enumerate(cat_u):
        m = np.nonzero((cat_i == ci) & ~chain)[0]
        if not len(m):
            continue
        nouns = CATEGORY_NOUNS.get(c, DEFAULT_NOUNS)
        combos = [s + nn for s in SHOP_STEMS for nn in nouns]
        combos = [x for x in combos if not any(f in x for f in forbidden)] or nouns
        out[m] = np.asarray(combos, dtype=object)[rng.integers(0, len(combos), size=len(m))]
    cm = np.nonzero(chain)[0]
    if len(cm):
        # k-th outlet of the same brand at the same place (stable, in outlet order)
        grp = pd.factorize(brand_disp[cm] + "\t" + place[cm], sort=False)[0]
        order = np.argsort(grp, kind="stable")
        g_sorted = grp[order]
        first = np.r_[0, np.nonzero(g_sorted[1:] != g_sorted[:-1])[0] + 1]
        rank = np.arange(len(cm)) - np.repeat(first, np.diff(np.r_[first, len(cm)]))
        k = np.empty(len(cm), dtype=np.int64)
        k[order] = rank + 1
        suffix = np.where(k == 1, "店", np.char.add(np.char.add("第", k.astype(str)), "分店")).astype(object)
        out[cm] = brand_disp[cm] + "（" + place[cm] + suffix + "）"
    return out
