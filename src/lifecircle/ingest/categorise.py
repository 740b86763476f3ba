"""Business category (业态) from industry codes, AMap typecodes and keywords — all data files.

Rules, in order: exact code, then code prefix, then keywords in the name or business
scope. What none of them maps stays unmapped (null) and is counted, never guessed."""
from __future__ import annotations

import re

import pandas as pd


def keyword_matcher(keywords: pd.DataFrame, field: str):
    """A function text -> category_code for keywords applying to ``field`` (name|scope).
    The first keyword in the text wins; where two start at the same place the longer one
    does (快递驿站 before 快递)."""
    rows = keywords[keywords["field"].isin([field, "any"])]
    pairs = sorted(zip(rows["keyword"], rows["category_code"]), key=lambda p: -len(p[0]))
    if not pairs:
        return lambda text: None
    lookup = dict(pairs)
    pattern = re.compile("|".join(re.escape(k) for k, _ in pairs))

    def match(text) -> str | None:
        if not isinstance(text, str):
            return None
        m = pattern.search(text)
        return lookup[m.group(0)] if m else None

    return match


def categorise_registrations(df: pd.DataFrame, gbt4754: pd.DataFrame, keywords: pd.DataFrame) -> pd.DataFrame:
    """Add ``category_code`` and ``category_rule`` (industry | keyword) to registrations."""
    by_code = dict(zip(gbt4754["industry_code"], gbt4754["category_code"]))
    code = df["industry_code"].fillna("").astype(str).str.strip()
    category = code.map(by_code)
    rule = pd.Series(pd.NA, index=df.index, dtype="object").where(category.isna(), "industry")
    by_name, by_scope = keyword_matcher(keywords, "name"), keyword_matcher(keywords, "scope")
    todo = category.isna()
    if todo.any():
        guess = df.loc[todo, "name"].map(by_name)
        guess = guess.fillna(df.loc[todo, "business_scope"].map(by_scope))
        category.loc[todo] = guess
        rule.loc[todo & category.notna()] = "keyword"
    return df.assign(category_code=category.astype("object").where(category.notna(), None),
                     category_rule=rule.astype("object").where(rule.notna(), None))


def typecode_lookup(amap: pd.DataFrame, *, exact_only: bool = False):
    """A function [typecodes] -> category_code: exact 6-digit code first, then 4-digit
    prefix (unless ``exact_only``), trying the POI's codes in order."""
    exact = {r.typecode: r.category_code for r in amap.itertuples() if len(r.typecode) == 6}
    prefix = {} if exact_only else {r.typecode: r.category_code for r in amap.itertuples() if len(r.typecode) == 4}

    def lookup(typecodes) -> str | None:
        for tc in typecodes or []:
            if tc in exact:
                return exact[tc]
        for tc in typecodes or []:
            if tc[:4] in prefix:
                return prefix[tc[:4]]
        return None

    return lookup


def categorise_pois(typecodes: pd.Series, names: pd.Series, amap: pd.DataFrame, keywords: pd.DataFrame) -> pd.Series:
    """Category of each POI: an exact typecode, else a name keyword, else a typecode prefix.

    A keyword beats a prefix because AMap files specific shops under generic codes
    (红星生鲜超市 is 060400 超市, but it is a fresh-food store)."""
    exact = typecodes.map(typecode_lookup(amap, exact_only=True))
    keyword = names.map(keyword_matcher(keywords, "name"))
    prefix = typecodes.map(typecode_lookup(amap))
    out = exact.where(exact.notna(), keyword)
    out = out.where(out.notna(), prefix)
    return out.astype("object").where(out.notna(), None)
