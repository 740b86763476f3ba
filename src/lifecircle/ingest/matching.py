"""One outlet counted once: match map POIs to registry registrations.

``match(pois, registrations)`` is pure (DataFrames in, DataFrame out):

* **Names** are normalised (:func:`normalise_name`): full-width -> half-width (NFKC),
  lower case, leading place names (甘肃省, 天水市, 秦州区, 天水 …) and legal forms
  (有限公司, 个体工商户 …) removed, known brand aliases replaced by the brand, then the
  branch suffix dropped with :func:`lifecircle.ingest.brands.normalise_brand`, and every
  space and punctuation mark removed. Registrations are named like 「秦州区王姐包子铺」
  or 「天水福顺烟酒店有限公司」, the map like 「王姐包子铺」.
* **Similarity** is :class:`difflib.SequenceMatcher` ratio (stdlib), with a shared
  trade-word ending (…理发店) discounted (:func:`similarity`). No fuzzy-matching
  library: rapidfuzz/jellyfish are not in the lock file, names are short (2–15 CJK
  characters) and candidates are blocked, so the stdlib is fast enough (the generated
  city of 3,000 outlets matches in about 5 s on 2 cores; similarities are
  cached per distinct name pair). ``name_score`` compares the brand names; the full names
  (branch suffix kept) add a small tie-break so 「蜜雪冰城（安新店）」 prefers the
  registration of the same branch.
* **Blocking**: candidates share the community (registrations: the community named in the
  address; POIs: the community of the nearest population point — and, optionally, the
  communities with a population point nearby, at a small penalty, because the nearest
  point is a poor proxy near community borders) and the category (pairs
  where one side's category is unknown stay candidates, ``same_category`` False, with a
  penalty). A registration without a community has no candidates.
* **Distance**: when both sides have coordinates, pairs farther than ``max_distance_m``
  are dropped and nearness adds to the score. Registrations carry no coordinates yet
  (geocoding is issue 3), so today the score is name + category + same community only;
  ``distance_m`` is null.
* **One-to-one**: pairs sorted by score (ties by ids, so the result is deterministic),
  taken greedily while neither side is used; pairs under ``min_score`` are never taken.
"""
from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

import numpy as np
import pandas as pd

from lifecircle.ingest.brands import normalise_brand

MATCH_COLUMNS = ["poi_id", "uscc", "score", "name_score", "distance_m", "same_category"]
DEFAULT_MIN_SCORE = 0.72

# 甘肃省 / 天水市 / 秦州区 / 清水县 at the start of a registered name; not 超市, 菜市, 社区, 小区 …
_PLACE_PREFIX = re.compile(r"^(?:[^省市区县]{2,3}省)?(?:[^省市区县]{2,4}(?<![超菜集夜街])市)?"
                           r"(?:[^省市区县]{2,4}(?<![社小园景])区|[^省市区县]{2,4}县)?")
_CITY_WORD = re.compile(r"^(?:天水|甘肃)")
_LEGAL = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|分公司|个体工商户|个体户|经营部|门市部)$")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def _alias_pattern(known_brands: pd.DataFrame | None):
    if known_brands is None or known_brands.empty:
        return None, {}
    pairs = []
    for row in known_brands.itertuples():
        aliases = row.aliases if isinstance(row.aliases, (list, tuple)) else str(row.aliases or "").split(";")
        for alias in [row.brand, *aliases]:
            alias = unicodedata.normalize("NFKC", str(alias or "")).strip().lower()
            if alias:
                pairs.append((alias, unicodedata.normalize("NFKC", row.brand).lower()))
    pairs.sort(key=lambda p: -len(p[0]))
    return re.compile("|".join(re.escape(a) for a, _ in pairs)), dict(pairs)


def normalise_name(name, known_brands: pd.DataFrame | None = None, *, keep_branch: bool = False,
                   _alias=None) -> str:
    """Comparable form of an outlet name (see the module docstring)."""
    text = unicodedata.normalize("NFKC", str(name or "")).strip().lower()
    text = _LEGAL.sub("", text)
    stripped = _PLACE_PREFIX.sub("", text)
    if len(stripped) >= 2:
        text = stripped
    stripped = _CITY_WORD.sub("", text)
    if len(stripped) >= 2:
        text = stripped
    pattern, canonical = _alias if _alias is not None else _alias_pattern(known_brands)
    if pattern is not None:
        m = pattern.search(text)
        if m:
            # brand + whatever follows (branch suffix); the generic word around an alias
            # (华润万家超市 vs 万家) is dropped with the alias
            text = canonical[m.group(0)] + text[m.end():]
    if not keep_branch:
        text = normalise_brand(text)
    return _PUNCT.sub("", text)


def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def similarity(a: str, b: str) -> float:
    """SequenceMatcher ratio, discounting a shared trade-word ending: 李记理发店 / 张记理发店
    share 记理发店 but are two shops, so when both names end alike (≥ 2 characters) and
    both keep something before it, the parts before it count for half."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    if n >= 2 and n < len(a) and n < len(b):
        return 0.5 * _ratio(a, b) + 0.5 * _ratio(a[:-n], b[:-n])
    return _ratio(a, b)


def _metres(lng1, lat1, lng2, lat2) -> np.ndarray:
    lat0 = np.radians((np.asarray(lat1, float) + np.asarray(lat2, float)) / 2)
    dx = (np.asarray(lng1, float) - np.asarray(lng2, float)) * 111_320.0 * np.cos(lat0)
    dy = (np.asarray(lat1, float) - np.asarray(lat2, float)) * 111_320.0
    return np.hypot(dx, dy)


def _prepare(df: pd.DataFrame, key: str, alias) -> pd.DataFrame:
    out = pd.DataFrame({
        key: df[key].astype(str),
        "community_code": df["community_code"] if "community_code" in df else None,
        "category_code": df["category_code"] if "category_code" in df else None,
        "lng": pd.to_numeric(df["lng"], errors="coerce") if "lng" in df else np.nan,
        "lat": pd.to_numeric(df["lat"], errors="coerce") if "lat" in df else np.nan,
    })
    names = df["name"].fillna("").astype(str)
    uniq = {n: (normalise_name(n, _alias=alias), normalise_name(n, keep_branch=True, _alias=alias))
            for n in names.unique()}
    out["brand_norm"] = names.map(lambda n: uniq[n][0])
    out["full_norm"] = names.map(lambda n: uniq[n][1])
    if "nearby_communities" in df:
        # a POI is a candidate for registrations of its own community and of the
        # communities around it (see locate.nearby_communities)
        out["block"] = [list(v) if isinstance(v, (list, tuple, np.ndarray)) and len(v) else [c]
                        for v, c in zip(df["nearby_communities"], out["community_code"])]
        out = out.explode("block")
    else:
        out["block"] = out["community_code"]
    return out[out["block"].notna()]


def match(pois: pd.DataFrame, registrations: pd.DataFrame, *, max_distance_m: float = 100.0,
          min_score: float = DEFAULT_MIN_SCORE, known_brands: pd.DataFrame | None = None,
          unknown_category_penalty: float = 0.1, other_community_penalty: float = 0.05) -> pd.DataFrame:
    """One-to-one POI -> registration matches.

    ``pois``: poi_id, name, community_code, category_code[, lng, lat, nearby_communities]
    (``nearby_communities``: list of community codes the POI is also a candidate in, see
    :func:`lifecircle.ingest.locate.nearby_communities`; a registration in one of them
    rather than in ``community_code`` costs ``other_community_penalty``);
    ``registrations``: uscc, name, community_code, category_code[, lng, lat] (WGS-84).
    Returns ``poi_id, uscc, score, name_score, distance_m, same_category`` sorted by poi_id.
    """
    alias = _alias_pattern(known_brands)
    p = _prepare(pois, "poi_id", alias)
    r = _prepare(registrations, "uscc", alias)
    pairs = p.merge(r.drop(columns="block"), left_on="block", right_on="community_code", suffixes=("_p", "_r"))
    if pairs.empty:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    cat_p, cat_r = pairs["category_code_p"], pairs["category_code_r"]
    known = cat_p.notna() & cat_r.notna()
    same = known & (cat_p == cat_r)
    pairs = pairs[same | ~known].copy()
    pairs["same_category"] = same[pairs.index]
    d = _metres(pairs["lng_p"], pairs["lat_p"], pairs["lng_r"], pairs["lat_r"])
    pairs["distance_m"] = np.where(np.isfinite(d), d, np.nan)
    pairs = pairs[~(pairs["distance_m"] > max_distance_m)]
    if pairs.empty:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    cache: dict[tuple[str, str], float] = {}

    def sim(a: str, b: str) -> float:
        key = (a, b)
        if key not in cache:
            cache[key] = similarity(a, b)
        return cache[key]

    name_score = np.fromiter((sim(a, b) for a, b in zip(pairs["brand_norm_p"], pairs["brand_norm_r"])),
                             float, len(pairs))
    full_score = np.fromiter((sim(a, b) for a, b in zip(pairs["full_norm_p"], pairs["full_norm_r"])),
                             float, len(pairs))
    dist = pairs["distance_m"].to_numpy()
    near = np.where(np.isnan(dist), np.nan, 1.0 - np.clip(dist / max_distance_m, 0, 1))
    score = np.where(np.isnan(near), 0.9 * name_score + 0.1 * full_score,
                     0.65 * name_score + 0.1 * full_score + 0.25 * np.nan_to_num(near))
    score = score - np.where(pairs["same_category"].to_numpy(), 0.0, unknown_category_penalty)
    score = score - np.where((pairs["community_code_p"] == pairs["community_code_r"]).to_numpy(), 0.0,
                             other_community_penalty)
    pairs = pairs.assign(score=np.round(score, 6), name_score=np.round(name_score, 6))
    pairs = pairs[pairs["score"] >= min_score].sort_values(["score", "poi_id", "uscc"],
                                                           ascending=[False, True, True])
    used_p, used_r, rows = set(), set(), []
    for row in pairs[["poi_id", "uscc", "score", "name_score", "distance_m", "same_category"]].itertuples(index=False):
        if row.poi_id in used_p or row.uscc in used_r:
            continue
        used_p.add(row.poi_id)
        used_r.add(row.uscc)
        rows.append(row)
    out = pd.DataFrame(rows, columns=MATCH_COLUMNS).sort_values("poi_id", ignore_index=True)
    out["distance_m"] = out["distance_m"].astype(float).where(out["distance_m"].notna(), None)
    out["same_category"] = out["same_category"].astype(bool)
    return out


def precision_recall(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision and recall of predicted (poi_id, uscc) pairs against true pairs."""
    pred = set(zip(predicted["poi_id"].astype(str), predicted["uscc"].astype(str)))
    true = set(zip(truth["poi_id"].astype(str), truth["uscc"].astype(str)))
    tp = len(pred & true)
    return {"tp": tp, "predicted": len(pred), "true": len(true),
            "precision": tp / len(pred) if pred else 1.0, "recall": tp / len(true) if true else 1.0}
