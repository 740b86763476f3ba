"""Business category (业态) from industry codes, AMap typecodes and keywords — all data files.

Rules, in order: exact code, then code prefix, then keywords in the name or business
scope. What none of them maps stays unmapped (null) and is counted, never guessed."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lifecircle.ingest.literal_search import first_literal_index


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


def _keyword_search(texts: np.ndarray, keywords: pd.DataFrame, field: str) -> np.ndarray:
    """Object array: the category of the keyword found first in each text, else None."""
    rows = keywords[keywords["field"].isin([field, "any"])]
    pairs = sorted(zip(rows["keyword"], rows["category_code"]), key=lambda p: -len(p[0]))
    lookup = dict(pairs)  # a keyword listed twice: its last category, as keyword_matcher has it
    idx, found = first_literal_index(texts, [k for k, _ in pairs])
    return np.asarray([*(lookup[k] for k in found), None], dtype=object)[idx]


def keyword_categories(texts: pd.Series, keywords: pd.DataFrame, field: str) -> pd.Series:
    """Vectorised ``texts.map(keyword_matcher(keywords, field))``: the category of the
    keyword found first in each text (longer first where two start at the same place),
    None where none is found or the text is not a string."""
    return pd.Series(_keyword_search(texts.to_numpy(dtype=object), keywords, field), index=texts.index)


def categorise_registrations(df: pd.DataFrame, gbt4754: pd.DataFrame, keywords: pd.DataFrame) -> pd.DataFrame:
    """Add ``category_code`` and ``category_rule`` (industry | keyword) to registrations.

    Keywords are searched only in the rows the industry code leaves unmapped, and the
    business scope only where the name has none."""
    by_code = dict(zip(gbt4754["industry_code"], gbt4754["category_code"]))
    # a few hundred distinct codes: clean and look up each once, then spread to the rows
    codes, distinct = pd.factorize(df["industry_code"], use_na_sentinel=False)
    looked_up = pd.Series(distinct, dtype=object).fillna("").astype(str).str.strip().map(by_code)
    category = looked_up.to_numpy(dtype=object)[codes]
    unmapped = pd.isna(category)
    category[unmapped] = None
    rule = np.where(unmapped, None, "industry").astype(object)
    todo = np.flatnonzero(unmapped)
    if len(todo):
        guess = _keyword_search(df["name"].to_numpy(dtype=object)[todo], keywords, "name")
        no_name = np.flatnonzero(pd.isna(guess))
        if len(no_name):
            scopes = df["business_scope"].to_numpy(dtype=object)[todo[no_name]]
            guess[no_name] = _keyword_search(scopes, keywords, "scope")
        category[todo] = guess
        rule[todo[pd.notna(guess)]] = "keyword"
    return df.assign(category_code=pd.Series(category, index=df.index, dtype=object),
                     category_rule=pd.Series(rule, index=df.index, dtype=object))


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
    keyword = keyword_categories(names, keywords, "name")
    prefix = typecodes.map(typecode_lookup(amap))
    out = exact.where(exact.notna(), keyword)
    out = out.where(out.notna(), prefix)
    return out.astype("object").where(out.notna(), None)
