"""The vectorised registration transforms give what the row-wise originals gave.

The reference functions below are the row-at-a-time implementations the vectorised
ones replaced (kept here, verbatim in behaviour, as the oracle). They run on a few
thousand seeded rows built from the real reference data with every kind of dirt the
registry delivers, plus hand-picked edge cases."""
from __future__ import annotations

import json
import random
import re

import numpy as np
import pandas as pd
import pytest

from lifecircle import refdata
from lifecircle.ingest import brands, categorise, locate
from lifecircle.ingest.literal_search import first_literal
from lifecircle.ingest.registration_rules import CLOSED_STATUSES, RAW_FIELDS, REQUIRED, STATUSES, check_rows
from lifecircle.quality.uscc import (
    USCC_CHARSET,
    org_check_digit,
    uscc_check_digit,
    uscc_error,
    uscc_errors,
)


pytestmark = pytest.mark.filterwarnings("ignore:Parsing integer or float values")  # the reference, on purpose


# ------------------------------------------------------------------ row-wise references
def _plain(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def ref_check_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = raw.copy()
    for col in RAW_FIELDS:
        df[col] = df[col].astype("object").where(df[col].notna(), None)
        df[col] = df[col].map(lambda v: v.strip() if isinstance(v, str) else v).replace("", None)
    problems: list[tuple] = []

    def flag(mask, code, field, message):
        for idx in df.index[mask]:
            problems.append((idx, code, field, message(df.loc[idx]) if callable(message) else message))

    def strict(s):
        return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")

    for col in REQUIRED:
        flag(df[col].isna(), "missing_field", col, f"required field {col} is empty")
    errors = df.loc[df["uscc"].notna(), "uscc"].map(uscc_error)
    for idx, err in errors.dropna().items():
        problems.append((idx, f"uscc_{err}", "uscc", f"unified social credit code {df.at[idx, 'uscc']!r} fails: {err}"))
    for col in ("established_date", "approved_date"):
        flag(df[col].notna() & strict(df[col]).isna(), "bad_date", col,
             lambda r, c=col: f"{c} {r[c]!r} is not a date YYYY-MM-DD")
    updated = pd.to_datetime(df["updated_at"], errors="coerce", utc=True, format="ISO8601")
    # a stamp without an offset is the registry's local time, +08:00
    naive = df["updated_at"].map(lambda v: isinstance(v, str) and re.search(r"\d(Z|[+-]\d{2}:?\d{2})$", v) is None)
    updated = updated.where(~naive.astype(bool), updated - pd.Timedelta(hours=8))
    flag(df["updated_at"].notna() & updated.isna(), "bad_date", "updated_at",
         lambda r: f"updated_at {r['updated_at']!r} is not an ISO timestamp")
    flag(df["status"].notna() & ~df["status"].isin(STATUSES), "unknown_status", "status",
         lambda r: f"status {r['status']!r} is not one of {'/'.join(STATUSES)}")
    dup = df.duplicated(subset=["uscc", "updated_at"], keep="first") & df["uscc"].notna()
    flag(dup, "duplicate", "uscc", lambda r: f"record {r['uscc']} @ {r['updated_at']} received more than once")
    bad_idx = sorted({p[0] for p in problems})
    quarantine = pd.DataFrame([{
        "load_id": df.at[i, "load_id"], "page_no": int(df.at[i, "page_no"]), "row_no": int(df.at[i, "row_no"]),
        "reason_code": code, "field": field, "message": msg,
        "record": json.dumps({k: _plain(df.loc[i][k]) for k in RAW_FIELDS}, ensure_ascii=False, default=str),
    } for i, code, field, msg in problems], columns=["load_id", "page_no", "row_no", "reason_code", "field",
                                                    "message", "record"])
    quarantine = quarantine.drop_duplicates(subset=["load_id", "page_no", "row_no", "reason_code"])
    valid = df.drop(index=bad_idx)
    valid = valid.assign(established_date=strict(valid["established_date"]).dt.date,
                         approved_date=strict(valid["approved_date"]).dt.date,
                         updated_at=updated.loc[valid.index], is_closed=valid["status"].isin(CLOSED_STATUSES))
    return valid, quarantine


def ref_categorise(df, gbt, keywords):
    by_code = dict(zip(gbt["industry_code"], gbt["category_code"]))
    category = df["industry_code"].fillna("").astype(str).str.strip().map(by_code)
    rule = pd.Series(pd.NA, index=df.index, dtype="object").where(category.isna(), "industry")
    todo = category.isna()
    if todo.any():
        guess = df.loc[todo, "name"].map(categorise.keyword_matcher(keywords, "name"))
        guess = guess.fillna(df.loc[todo, "business_scope"].map(categorise.keyword_matcher(keywords, "scope")))
        category.loc[todo] = guess
        rule.loc[todo & category.notna()] = "keyword"
    return df.assign(category_code=category.astype("object").where(category.notna(), None),
                     category_rule=rule.astype("object").where(rule.notna(), None))


def ref_brand_column(names, known):
    pairs = []
    for row in known.itertuples():
        aliases = row.aliases if isinstance(row.aliases, (list, tuple)) else str(row.aliases or "").split(";")
        for alias in [row.brand, *[a for a in aliases if a and str(a).strip()]]:
            pairs.append((alias.strip(), row.brand))
    pairs.sort(key=lambda p: -len(p[0]))
    normalised = names.fillna("").map(brands.normalise_brand)
    if not pairs:
        return normalised, pd.Series(False, index=names.index)
    pattern = re.compile("|".join(re.escape(a) for a, _ in pairs))
    canonical = dict(pairs)
    found = names.fillna("").map(lambda n: (m := pattern.search(n)) and canonical[m.group(0)])
    is_known = found.notna() & found.astype(bool)
    return normalised.where(~is_known, found), is_known


def ref_community(addresses, communities):
    names = sorted(communities["name"], key=len, reverse=True)
    code_of = dict(zip(communities["name"], communities["community_code"]))
    pattern = re.compile("|".join(re.escape(n) for n in names))
    return addresses.fillna("").map(lambda a: (m := pattern.search(a)) and code_of[m.group(0)] or None)


# ------------------------------------------------------------------ a dirty sample
def _valid_code(rng: random.Random, prefix: str) -> str:
    body = "".join(rng.choice(USCC_CHARSET) for _ in range(8))
    code17 = prefix + rng.choice(["620502", "620503"]) + body + org_check_digit(body)
    return code17 + uscc_check_digit(code17)


def _maybe(rng, value, spoilers):
    return rng.choice(spoilers) if rng.random() < 0.08 else value


def dirty_sample(n: int = 3000, seed: int = 11) -> pd.DataFrame:
    rng = random.Random(seed)
    comms = refdata.load_communities()["name"].tolist()
    aliases = [a for row in refdata.load_brands().itertuples() for a in [row.brand, *row.aliases]]
    words = refdata.load_keywords()["keyword"].tolist() + ["便利店", "超市", "科技有限公司", "商行", "工作室"]
    suffixes = ["", "", "（进步巷店）", "(民主路店)", "第2分店", "二分店", "分店", " （秦州） ", "（民主路店)",
                "第十二分店（东关店）", "\u3000(店)\u3000"]
    blanks = [None, "", "   ", float("nan"), "\u3000"]
    rows = []
    for i in range(n):
        code = _valid_code(rng, rng.choice(["91", "92"]))
        r = rng.random()
        if r < 0.04:
            code = code[:17] + USCC_CHARSET[(USCC_CHARSET.index(code[17]) + 1) % 31]   # check digit
        elif r < 0.06:
            code = code[:16] + ("0" if code[16] != "0" else "1") + code[17]            # org check
        elif r < 0.07:
            code = code.lower()                                                         # charset
        elif r < 0.08:
            code = code[:rng.randrange(18)]                                             # length
        elif r < 0.09:
            code = f"  {code}\t"                                                        # stripped
        elif r < 0.095:
            code = 12345
        name = (rng.choice(["", "天水", "秦州"]) + rng.choice(aliases + words + ["老王包子", "小李面馆"])
                + rng.choice(["", rng.choice(words)]) + rng.choice(suffixes))
        address = (f"甘肃省天水市秦州区{rng.choice(comms)}{rng.choice(['', rng.choice(comms)])}"
                   f"{rng.choice(['进步巷', '民主路', '光明'])}{rng.randint(1, 99)}号")
        day = f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rows.append({
            "uscc": _maybe(rng, code, blanks),
            "name": _maybe(rng, name, blanks),
            "address": _maybe(rng, rng.choice([address, "天水市" + rng.choice(["某路", "某街"]) + "1号"]), blanks),
            "industry_code": _maybe(rng, rng.choice(["5213", "5212", " 6220 ", "6299", "8090", "5299", "9999"]),
                                    blanks),
            "business_scope": _maybe(rng, rng.choice(["日用百货零售", "早餐服务", "家电维修；修鞋", "软件开发",
                                                      "社区食堂；老年助餐", "理发"]), blanks),
            "established_date": _maybe(rng, day, blanks + ["2023-13-45", "2021/03/04", "2024-02-30", 20210304]),
            "status": _maybe(rng, rng.choice(STATUSES), blanks + ["营业中", " 存续 ", "歇业"]),
            "approved_date": _maybe(rng, day, blanks + ["2023-00-10", "yesterday"]),
            "updated_at": _maybe(rng, f"{day}T{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:00+08:00",
                                 blanks + ["not a time", f"{day}T08:00:00Z", f"{day} 08:00:00"]),
            "district_adcode": _maybe(rng, "620502", blanks),
        })
        if rng.random() < 0.02:
            rows.append(dict(rows[-1]))                                                 # exact duplicate
    raw = pd.DataFrame(rows, columns=list(RAW_FIELDS)).astype("object")
    raw.insert(0, "row_no", np.arange(len(raw)) % 500)
    raw.insert(0, "page_no", np.arange(len(raw)) // 500 + 1)
    raw.insert(0, "load_id", "registrations:2024-05")
    return raw


def _as_object(df: pd.DataFrame) -> pd.DataFrame:
    """Values only: every column as objects, every missing marker as None."""
    out = df.astype(object)
    return out.where(out.notna(), None)


@pytest.fixture(scope="module")
def sample():
    return dirty_sample()


@pytest.fixture(scope="module")
def checked(sample):
    return check_rows(sample), ref_check_rows(sample)


def test_sample_is_dirty_enough(checked):
    (_, quarantine), _ = checked
    reasons = set(quarantine["reason_code"])
    assert {"missing_field", "bad_date", "unknown_status", "duplicate", "uscc_check_digit", "uscc_org_check",
            "uscc_charset", "uscc_length"} <= reasons


def test_check_rows_quarantine_is_identical(checked):
    (_, new_q), (_, ref_q) = checked
    assert len(new_q) > 100
    pd.testing.assert_frame_equal(new_q, ref_q)


def test_check_rows_valid_rows_are_identical(checked):
    (new_v, _), (ref_v, _) = checked
    assert len(new_v) > 1000
    assert list(new_v.columns) == list(ref_v.columns)
    pd.testing.assert_index_equal(new_v.index, ref_v.index)
    pd.testing.assert_frame_equal(_as_object(new_v), _as_object(ref_v))
    assert str(new_v["updated_at"].dt.tz) == "UTC"


def test_input_is_not_modified(sample):
    before = sample.copy()
    check_rows(sample)
    pd.testing.assert_frame_equal(sample, before)


def test_categorise_brands_and_community_are_identical(checked):
    (valid, _), _ = checked
    gbt, keywords, known = refdata.load_gbt4754(), refdata.load_keywords(), refdata.load_brands()
    comms = refdata.load_communities()
    new = categorise.categorise_registrations(valid, gbt, keywords)
    ref = ref_categorise(valid, gbt, keywords)
    pd.testing.assert_frame_equal(_as_object(new), _as_object(ref))
    assert new["category_rule"].value_counts().to_dict().keys() == {"industry", "keyword"}

    brand, known_flag = brands.brand_column(valid["name"], known)
    ref_brand, ref_flag = ref_brand_column(valid["name"], known)
    assert brand.tolist() == ref_brand.tolist()
    assert known_flag.tolist() == ref_flag.tolist()
    assert 0 < known_flag.sum() < len(known_flag)

    addresses = pd.concat([valid["address"], pd.Series([None, float("nan"), ""], dtype=object)], ignore_index=True)
    community = locate.community_from_address(addresses, comms)
    expected = ref_community(addresses, comms)
    assert community.where(community.notna(), None).tolist() == expected.where(expected.notna(), None).tolist()
    assert len(valid) // 3 < community.notna().sum() < len(valid)


def test_uscc_errors_match_the_scalar_check(sample):
    codes = sample["uscc"].tolist() + ["91350100M000100Y43", "91350100M000100Y4\x00", "\U0001F600" * 18]
    assert uscc_errors(codes).tolist() == [uscc_error(c) for c in codes]


def test_normalise_many_matches_the_one_marker_loop():
    rng = random.Random(5)
    parts = ["(", ")", "（", "）", "第", "分", "店", "一", "十", "2", " ", "\u3000", "\x1c", "老王", "分店",
             "（进步巷店）", "第2分店"]
    names = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 8))) for _ in range(20000)]
    got = brands._normalise_many(np.asarray(names, dtype=object))
    assert [g for g, n in zip(got, names) if g != brands.normalise_brand(n)] == []


@pytest.mark.parametrize("dense_max, rows", [(1 << 23, 1 << 17), (0, 7)])  # sparse trie, many chunks
def test_first_literal_matches_re_search(monkeypatch, dense_max, rows):
    from lifecircle.ingest import literal_search

    monkeypatch.setattr(literal_search, "_DENSE_MAX", dense_max)
    monkeypatch.setattr(literal_search, "_ROWS", rows)
    rng = random.Random(3)
    alphabet = "ab社区天水（）(). 店\u3000分第1"
    for _ in range(150):
        literals = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 10))]
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(60)]
        texts += [None, float("nan"), 7, "a\x00社区", "\ud800社区"]
        pattern = re.compile("|".join(re.escape(x) for x in sorted(literals, key=len, reverse=True)))
        expected = [(m.group(0) if (m := pattern.search(t)) else None) if isinstance(t, str) else None for t in texts]
        assert first_literal(texts, literals).tolist() == expected
