"""Brand normalisation and the chain flag (Tianshui target: chain outlets >= 30%)."""
from __future__ import annotations

import re
from itertools import repeat

import numpy as np
import pandas as pd

from lifecircle.ingest.literal_search import first_literal_index

# （进步巷店） (民主路店) 第2分店 二分店 分店 — branch markers removed to get the brand.
_BRANCH = re.compile(r"[（(][^）)]*[）)]\s*$|第?[0-9一二三四五六七八九十]+分店$|分店$")
# The same markers stacked at the end of a name, removed in one search: what the
# one-marker-at-a-time loop of normalise_brand leaves (a property test checks it).
_BRANCHES = re.compile(r"(?:(?:[（(][^）)]*[）)]|第?[0-9一二三四五六七八九十]+分店|分店)\s*)+$")
# A stripped name can only carry a marker if it ends in one of these.
_MARKER_ENDS = (")", "）", "分店")


def normalise_brand(name: str) -> str:
    text = (name or "").strip()
    previous = None
    while text and text != previous:
        previous = text
        text = _BRANCH.sub("", text).strip()
    return text or (name or "").strip()


def _normalise_many(names: np.ndarray) -> np.ndarray:
    """normalise_brand of an object array of strings, with one regex call only for the
    names that end like a branch marker (most names end otherwise)."""
    stripped = np.asarray(list(map(str.strip, names)), dtype=object)
    out = stripped.copy()
    ends = map(str.endswith, stripped, repeat(_MARKER_ENDS))
    marked = np.flatnonzero(np.fromiter(ends, dtype=bool, count=len(stripped)))
    for i, text in zip(marked, stripped[marked]):
        m = _BRANCHES.search(text)
        if m is not None and (cut := text[:m.start()].strip()):
            out[i] = cut
    return out


def _alias_pairs(known: pd.DataFrame) -> list[tuple[str, str]]:
    """(alias, canonical brand), the brand itself included, longest alias first."""
    pairs = []
    for row in known.itertuples():
        aliases = row.aliases if isinstance(row.aliases, (list, tuple)) else str(row.aliases or "").split(";")
        for alias in [row.brand, *[a for a in aliases if a and str(a).strip()]]:
            pairs.append((alias.strip(), row.brand))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


def brand_column(names: pd.Series, known: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(brand, is_known_brand): a name containing a known brand or alias takes that brand
    (the alias found first in the name, the longest where several start there); any
    other name keeps its normalised form as brand."""
    pairs = _alias_pairs(known)
    values = names.fillna("").to_numpy(dtype=object)
    if not pairs:
        return pd.Series(_normalise_many(values), index=names.index), pd.Series(False, index=names.index)
    canonical = dict(pairs)
    idx, aliases = first_literal_index(values, [a for a, _ in pairs])
    found = np.asarray([*(canonical[a] for a in aliases), None], dtype=object)[idx]
    is_known = pd.notna(found) & (found != "")
    brand = found.copy()
    brand[~is_known] = _normalise_many(values[~is_known])
    return pd.Series(brand, index=names.index), pd.Series(is_known, index=names.index)


def chain_flags(brands: pd.Series, is_known: pd.Series, min_outlets: int) -> pd.Series:
    """Chain = known brand, or a brand with at least ``min_outlets`` outlets in the city."""
    counts = brands.map(brands.value_counts())
    return is_known | (counts >= min_outlets)
