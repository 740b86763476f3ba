"""Brand normalisation and the chain flag (Tianshui target: chain outlets >= 30%)."""
from __future__ import annotations

import re

import pandas as pd

# （进步巷店） (民主路店) 第2分店 二分店 分店 — branch markers removed to get the brand.
_BRANCH = re.compile(r"[（(][^）)]*[）)]\s*$|第?[0-9一二三四五六七八九十]+分店$|分店$")


def normalise_brand(name: str) -> str:
    text = (name or "").strip()
    previous = None
    while text and text != previous:
        previous = text
        text = _BRANCH.sub("", text).strip()
    return text or (name or "").strip()


def brand_column(names: pd.Series, known: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(brand, is_known_brand): a name containing a known brand or alias takes that brand;
    any other name keeps its normalised form as brand."""
    pairs = []
    for row in known.itertuples():
        aliases = row.aliases if isinstance(row.aliases, (list, tuple)) else str(row.aliases or "").split(";")
        for alias in [row.brand, *[a for a in aliases if a and str(a).strip()]]:
            pairs.append((alias.strip(), row.brand))
    pairs.sort(key=lambda p: -len(p[0]))
    pattern = re.compile("|".join(re.escape(a) for a, _ in pairs)) if pairs else None
    canonical = dict(pairs)
    normalised = names.fillna("").map(normalise_brand)
    if pattern is None:
        return normalised, pd.Series(False, index=names.index)
    found = names.fillna("").map(lambda n: (m := pattern.search(n)) and canonical[m.group(0)])
    is_known = found.notna() & found.astype(bool)
    return normalised.where(~is_known, found), is_known


def chain_flags(brands: pd.Series, is_known: pd.Series, min_outlets: int) -> pd.Series:
    """Chain = known brand, or a brand with at least ``min_outlets`` outlets in the city."""
    counts = brands.map(brands.value_counts())
    return is_known | (counts >= min_outlets)
