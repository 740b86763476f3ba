"""Market-registration records (registry API items) for the sample city, with dirt.

Why: the registry is the authoritative source of what exists and when it opened or
closed, and it is where real data is dirtiest. Every outlet gets a valid unified social
credit code; one line per version (an opening record with status 存续, and for closed
outlets a later 注销 record). Then a counted, seeded share of lines is spoiled the way
real extracts are: wrong check characters, exact duplicate lines, industry codes that
are not in our mapping (the shop is only recognisable by a keyword in its name or
business scope), missing required fields, impossible dates and status words outside
the vocabulary. ``truth/dirt.csv`` lists every spoiled line so tests and the
validation stage can be checked against it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lifecircle.quality.uscc import USCC_CHARSET, org_check_digits, uscc_check_digits
from lifecircle.samplecity.jsonl import ABSENT, encode_records
from lifecircle.samplecity.names import BUSINESS_SCOPE, DEFAULT_SCOPE, UNKNOWN_STATUS_WORDS

FIELDS = ["uscc", "name", "address", "industry_code", "business_scope", "established_date",
          "status", "approved_date", "updated_at", "district_adcode"]
REQUIRED_FIELDS = ["uscc", "name", "address", "industry_code", "established_date", "status"]

DIRT_RATES = {"bad_check_digit": 0.01, "duplicate": 0.005, "unmapped_industry": 0.02,
              "missing_field": 0.01, "bad_date": 0.0005, "unknown_status": 0.0005}
MIN_FEW = 3  # "a few" bad dates / unknown status words even in a small city

# Fallback when config/mappings/gbt4754.csv is absent (same content as shipped there).
BUILTIN_GBT = {
    "supermarket": ["5212"], "convenience_store": ["5213"], "fresh_food_store": ["5223", "5224"],
    "breakfast": ["6220", "6291"], "laundry": ["8030"], "hair_beauty": ["8040"],
    "photo_print": ["8060"], "housekeeping": ["8010"],
    "repair": ["8131", "8132", "8191", "8192", "8193", "8199"], "pharmacy": ["5251", "5252"],
    "post_parcel": ["6010", "6020"], "recycling": ["5191"], "bookstore": ["5243"],
    "fitness": ["8930"], "childcare": ["8020"], "elderly_care": ["8514", "8521"],
    "wellness": ["8051", "8052", "8053"], "education": ["8391", "8392", "8393", "8394"],
}
# Categories with no code in the mapping: what they are registered under in reality.
NATURAL_INDUSTRY = {
    "wet_market": ["7223"],  # 市场管理服务
    "specialty_dining": ["6210"],  # 正餐服务
    "leisure": ["9013", "9019"],  # 网吧 / 其他室内娱乐
    "basic_other": ["5299"],  # 其他未列明零售业
    "quality_other": ["5299", "8090"],
    "community_canteen": ["6241"],  # 餐饮配送服务
    "front_warehouse": ["5292"],  # 互联网零售
}
# Dirt: a mapped category registered under a catch-all code.
DIRT_INDUSTRY = {
    "breakfast": "6299", "repair": "8090", "housekeeping": "8090", "recycling": "5299",
    "post_parcel": "5299", "elderly_care": "8090", "childcare": "8090", "education": "8399",
}
BUILTIN_KEYWORDS = pd.DataFrame(
    [("早餐", "breakfast", "any"), ("修鞋", "repair", "any"), ("快递驿站", "post_parcel", "name"),
     ("家政", "housekeeping", "any"), ("废品", "recycling", "any"), ("养老", "elderly_care", "any"),
     ("托育", "childcare", "any"), ("培训", "education", "name")],
    columns=["keyword", "category_code", "field"])

_ORG_CHARS = np.array(list(USCC_CHARSET))


@dataclass
class RegistryOutput:
    lines: list[str]
    uscc: np.ndarray  # true (valid) code per outlet
    dirt: pd.DataFrame  # source, line_no, kind, detail, outlet_id
    counts: dict


def industry_table() -> dict[str, list[str]]:
    try:
        from lifecircle import refdata

        df = refdata.load_gbt4754()
        table: dict[str, list[str]] = {}
        for code, cat in zip(df["industry_code"], df["category_code"]):
            table.setdefault(cat, []).append(code)
        return table
    except FileNotFoundError:
        return {k: list(v) for k, v in BUILTIN_GBT.items()}


def keyword_table() -> pd.DataFrame:
    try:
        from lifecircle import refdata

        return refdata.load_keywords()
    except FileNotFoundError:
        return BUILTIN_KEYWORDS.copy()


def make_uscc(entity: np.ndarray, district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique valid codes: ``<91|92><district><org code body><org check><check>``.

    Organisation-code bodies follow the post-2015 pattern ``MA`` + 6 characters (and
    ``L`` + 7 for some individual businesses); all characters are from the USCC charset.
    """
    n = len(entity)
    base = len(_ORG_CHARS)
    body = rng.integers(0, base, size=(n, 8))
    use_l = (entity == "92") & (rng.uniform(size=n) < 0.5)
    body[:, 0] = np.where(use_l, USCC_CHARSET.index("L"), USCC_CHARSET.index("M"))
    body[:, 1] = np.where(use_l, body[:, 1], USCC_CHARSET.index("A"))
    # uniqueness on an integer key (entity, district, body) rather than on strings
    d_idx = pd.factorize(district, sort=False)[0].astype(np.int64)
    ent = (entity == "92").astype(np.int64)
    powers = base ** np.arange(8, dtype=np.int64)
    for _ in range(100):
        key = ((body @ powers) * 2 + ent) * (int(d_idx.max(initial=0)) + 1) + d_idx
        order = np.argsort(key, kind="stable")
        dup = np.zeros(n, dtype=bool)
        dup[order[1:][key[order][1:] == key[order][:-1]]] = True  # all but the first
        if not dup.any():
            break
        body[dup, 2:] = rng.integers(0, base, size=(int(dup.sum()), 6))
    chars = _ORG_CHARS[body]
    bodies = np.ascontiguousarray(chars).view("U8").ravel()
    prefix = np.char.add(entity.astype("U2"), district.astype("U6"))
    code17 = np.char.add(np.char.add(prefix, bodies), org_check_digits(bodies))
    return np.char.add(code17, uscc_check_digits(code17))


def _keyword_hit(cat: str, names: pd.Series, scopes: pd.Series, kw: pd.DataFrame) -> np.ndarray:
    rows = kw[kw["category_code"] == cat]
    hit = np.zeros(len(names), dtype=bool)
    for words, col in ((rows.loc[rows["field"].isin(["name", "any"]), "keyword"], names),
                       (rows.loc[rows["field"].isin(["scope", "any"]), "keyword"], scopes)):
        for w in words:
            hit |= col.str.contains(w, regex=False).to_numpy()
    return hit


def _api_order(sort_key: np.ndarray, uscc: np.ndarray) -> np.ndarray:
    """Line order of the registry API: (updated_at, uscc); ties broken by uscc text."""
    order = np.argsort(sort_key, kind="stable")
    k = sort_key[order]
    same = k[1:] == k[:-1]
    tied = np.zeros(len(k), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    pos = np.nonzero(tied)[0]  # runs of equal keys are contiguous, so one sort fixes all
    if len(pos):
        items = sorted(zip(k[pos].tolist(), [uscc[i] if isinstance(uscc[i], str) else "" for i in order[pos]],
                           order[pos].tolist()))
        order[pos] = [i for _, _, i in items]
    return order


def build_registrations(o: dict[str, np.ndarray], as_of, rng: np.random.Generator) -> RegistryOutput:
    """Registry lines for outlets ``o`` (needs outlet_id, category_code, chain, reg_name,
    address, district_code, open_date, close_date)."""
    n = len(o["outlet_id"])
    cats = o["category_code"]
    chain = o["chain"]
    entity = np.where(chain | (rng.uniform(size=n) < 0.2), "91", "92")
    uscc = make_uscc(entity, o["district_code"], rng)
    table = industry_table()
    mapped_codes = {c for v in table.values() for c in v}
    industry = np.empty(n, dtype=object)
    cat_i, cat_u = pd.factorize(cats)
    for ci, c in enumerate(cat_u):
        m = np.nonzero(cat_i == ci)[0]
        codes = table.get(c) or NATURAL_INDUSTRY.get(c) or ["5299"]
        w = 1.0 / np.arange(1, len(codes) + 1)
        industry[m] = np.asarray(codes, dtype=object)[rng.choice(len(codes), size=len(m), p=w / w.sum())]
    scope = np.asarray([BUSINESS_SCOPE.get(c, DEFAULT_SCOPE) for c in cat_u], dtype=object)[cat_i]
    names = o["reg_name"]

    # dirt 1: unmapped industry code, per outlet, only where a keyword gives it away
    kw = keyword_table()
    cat_pos = {c: i for i, c in enumerate(cat_u)}
    eligible = np.zeros(n, dtype=bool)
    for c, code in DIRT_INDUSTRY.items():
        if code in mapped_codes or c not in table:
            continue
        m = np.nonzero(cat_i == cat_pos[c])[0] if c in cat_pos else np.zeros(0, dtype=np.int64)
        if len(m):
            eligible[m] = _keyword_hit(c, pd.Series(names[m]), pd.Series(scope[m]), kw)
    cand = np.nonzero(eligible)[0]
    n_unmapped = min(len(cand), int(round(DIRT_RATES["unmapped_industry"] * n)))
    unmapped = np.sort(rng.choice(cand, size=n_unmapped, replace=False)) if n_unmapped else cand[:0]
    industry[unmapped] = [DIRT_INDUSTRY[c] for c in cats[unmapped]]

    # versions: opening record for all, 注销 record for closed outlets
    open_s = np.datetime_as_string(o["open_date"].astype("datetime64[D]"), unit="D")
    close_arr = o["close_date"].astype("datetime64[D]")
    closed = np.nonzero(~np.isnat(close_arr))[0]
    close_s = np.datetime_as_string(close_arr[closed], unit="D")
    src = np.concatenate([np.arange(n), closed])  # outlet row of each line
    is_close = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(closed), dtype=bool)])
    L = len(src)
    upd_day = np.concatenate([open_s, close_s]).astype(object)
    # time of day 08:00:00-18:59:59; the table of 39,600 strings avoids per-line formatting
    sec = rng.integers(8 * 3600, 19 * 3600, size=L)
    tod = np.array([f"T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}+08:00" for t in range(8 * 3600, 19 * 3600)],
                   dtype=object)
    updated = upd_day + tod[sec - 8 * 3600]
    day = np.concatenate([o["open_date"].astype("datetime64[D]").astype(np.int64),
                          close_arr[closed].astype(np.int64)])
    sort_key = day * 86400 + sec
    col = {
        "uscc": uscc[src].astype(object),
        "name": names[src],
        "address": o["address"][src],
        "industry_code": industry[src],
        "business_scope": scope[src],
        "established_date": open_s[src].astype(object),
        "status": np.where(is_close, "注销", "存续").astype(object),
        "approved_date": upd_day.copy(),
        "updated_at": updated,
        "district_adcode": o["district_code"][src],
    }

    # dirt 2..5 on lines of other outlets; each spoiled line has exactly one problem
    unmapped_mask = np.zeros(n, dtype=bool)
    unmapped_mask[unmapped] = True
    pool = np.nonzero(~unmapped_mask[src])[0]
    pool = pool[rng.permutation(len(pool))]
    sizes = {
        "bad_check_digit": int(round(DIRT_RATES["bad_check_digit"] * L)),
        "missing_field": int(round(DIRT_RATES["missing_field"] * L)),
        "bad_date": max(MIN_FEW, int(round(DIRT_RATES["bad_date"] * L))),
        "unknown_status": max(MIN_FEW, int(round(DIRT_RATES["unknown_status"] * L))),
    }
    picks = {}
    start = 0
    for kind, k in sizes.items():
        k = min(k, len(pool) - start)
        picks[kind] = np.sort(pool[start:start + k])
        start += k
    clean = np.sort(pool[start:])
    detail = np.full(L, "", dtype=object)
    kind_of = np.full(L, "", dtype=object)

    m = picks["bad_check_digit"]
    if len(m):
        good = np.array([USCC_CHARSET.index(c[17]) for c in col["uscc"][m]])
        bad = (good + 1 + rng.integers(0, len(USCC_CHARSET) - 1, size=len(m))) % len(USCC_CHARSET)
        col["uscc"][m] = [c[:17] + USCC_CHARSET[b] for c, b in zip(col["uscc"][m], bad)]
        kind_of[m] = "bad_check_digit"
    m = picks["missing_field"]
    missing: dict[int, dict] = {}  # line -> {field: ABSENT | None | ""}
    if len(m):
        fields = rng.choice(REQUIRED_FIELDS, size=len(m), p=[0.1, 0.2, 0.25, 0.2, 0.15, 0.1])
        forms = rng.choice(3, size=len(m), p=[0.5, 0.3, 0.2])
        for line, f, form in zip(m, fields, forms):
            if f == "uscc" and form == 1:  # the sort key: consumers do item.get("uscc", "")
                form = 0
            missing[int(line)] = {f: (ABSENT, None, "")[form]}
            detail[line] = f"{f}:{('absent', 'null', 'empty')[form]}"
        kind_of[m] = "missing_field"
    m = picks["bad_date"]
    if len(m):
        which = np.where(rng.uniform(size=len(m)) < 0.7, "established_date", "approved_date")
        pattern = rng.integers(0, 3, size=len(m))
        for line, f, pt in zip(m, which, pattern):
            y = str(col[f][line])[:4]
            col[f][line] = (f"{y}-13-45", f"{y}-02-30", f"{y}-00-10")[pt]
            detail[line] = f
        kind_of[m] = "bad_date"
    m = picks["unknown_status"]
    if len(m):
        col["status"][m] = np.asarray(UNKNOWN_STATUS_WORDS, dtype=object)[
            rng.integers(0, len(UNKNOWN_STATUS_WORDS), size=len(m))]
        kind_of[m] = "unknown_status"
    um = np.nonzero(unmapped_mask[src])[0]
    kind_of[um] = "unmapped_industry"
    detail[um] = col["industry_code"][um]

    # order by (updated_at, uscc) as the API does; duplicates follow their original
    n_dup = min(len(clean), int(round(DIRT_RATES["duplicate"] * L)))
    dup = np.sort(rng.choice(clean, size=n_dup, replace=False)) if n_dup else clean[:0]
    order = _api_order(sort_key, col["uscc"])
    rep = np.ones(L, dtype=np.int64)
    rep[dup] = 2
    final = np.repeat(order, rep[order])
    miss_mask = np.zeros(L, dtype=bool)
    miss_mask[list(missing)] = True
    overrides = {int(pos): missing[int(final[pos])] for pos in np.nonzero(miss_mask[final])[0]}
    lines = encode_records({f: col[f][final] for f in FIELDS}, overrides)  # (only clean lines are duplicated)

    is_dup_copy = np.zeros(len(final), dtype=bool)
    is_dup_copy[1:] = (final[1:] == final[:-1])
    outlet_ids = o["outlet_id"]
    rows = []
    for pos in np.nonzero((kind_of[final] != "") | is_dup_copy)[0]:
        line = final[pos]
        kind = "duplicate" if is_dup_copy[pos] else kind_of[line]
        rows.append(("registry", pos + 1, kind, "" if kind == "duplicate" else detail[line],
                     outlet_ids[src[line]]))
    dirt = pd.DataFrame(rows, columns=["source", "line_no", "kind", "detail", "outlet_id"])
    counts = {"lines": len(lines), "versions": int(L), "opening_records": int(n),
              "closing_records": int(len(closed))}
    dirt_counts = {k: int(len(v)) for k, v in picks.items()}
    dirt_counts["unmapped_industry"] = int(len(um))
    dirt_counts["unmapped_industry_outlets"] = int(len(unmapped))
    dirt_counts["duplicate"] = int(n_dup)
    counts["dirt"] = dict(sorted(dirt_counts.items()))
    return RegistryOutput(lines=lines, uscc=uscc, dirt=dirt, counts=counts)
