"""The views the plans track beyond coverage: 缺什么 joined with residents' demands,
survey-reported outlets and employees, facility area per 100 households, Shenzhen's
development-form shares and Zhanjiang's 一店一早 / 一菜一修 / 一老一小.

Pure functions over frames (no database, no clock): ``coverage.run`` reads the inputs for
the period and writes what these return. Indicator rows use the long format of
``mart.coverage_indicator`` (see :data:`INDICATOR_COLUMNS`)."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from lifecircle import refdata, settings
from lifecircle.coverage.indicators import Unit

log = logging.getLogger(__name__)

INDICATOR_COLUMNS = ["period", "level", "unit_code", "unit_name", "indicator", "value", "numerator", "denominator",
                     "method"]
MISSING_COLUMNS = ["circle_code", "community_code", "category_code", "required", "residents_affected",
                   "demanded_by_survey", "survey_mentions", "annex5_demand", "method"]
DEVELOPMENT_FORMS = ("clustered", "street_block", "dispersed")
# Shenzhen pilot plan: each of the three development forms is at least 20% of the pilots.
DEVELOPMENT_FORM_MIN_SHARE = 0.2
# An annex-5 demand text in a category's own row counts as "this category is missing" when
# it says so; other texts there ("价格偏高", "希望延长营业时间") are about service, not absence.
LACK_WORDS = ("缺", "没有", "无此", "增设", "新增", "需要", "希望有")
# Why facility m² per 100 households is not computed (reported as no_data).
FACILITY_M2_NO_DATA = ("annex 5 reports only the floor-area share of commercial and service facilities "
                       "(facility_area_share_pct); no input gives an absolute facility area or the total floor "
                       "area, so m² per 100 households cannot be derived")


def indicator_row(period: str, u: Unit, indicator: str, value, num=None, den=None, method: str = "survey") -> dict:
    return {"period": period, "level": u.level, "unit_code": u.code, "unit_name": u.name, "indicator": indicator,
            "value": value, "numerator": num, "denominator": den, "method": method}


def _share(num: float, den: float) -> float | None:
    return None if not den else round(float(num) / float(den), 4)


# ---------------------------------------------------------------- 缺什么
def category_terms(name_zh: str) -> list[str]:
    """Words that name a category in free text: 生鲜超市(菜店) -> [生鲜超市, 菜店]."""
    parts = [p.strip() for p in re.split(r"[()（）]", str(name_zh)) if p.strip()]
    return [p for p in parts if len(p) >= 2 and not p.startswith("其他")]


def survey_demands(survey_categories: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """(circle_code, category_code, annex5_demand) for every category the circle's annex-5
    form asks for: its own row's demand text says it is lacking, or any row's text names
    it. ``survey_categories``: circle_code, category_code, demand_list."""
    rows = []
    names = dict(zip(categories["category_code"], categories["name_zh"]))
    texts = survey_categories.dropna(subset=["demand_list"])
    texts = texts[texts["demand_list"].astype(str).str.strip() != ""]
    for circle, g in texts.groupby("circle_code", sort=True):
        own = dict(zip(g["category_code"], g["demand_list"].astype(str).str.strip()))
        for code, name in names.items():
            hits = []
            if code in own and any(w in own[code] for w in LACK_WORDS):
                hits.append(own[code])
            for other, text in sorted(own.items()):
                if other != code and any(t in text for t in category_terms(name)) and text not in hits:
                    hits.append(text)
            if hits:
                rows.append({"circle_code": circle, "category_code": code, "annex5_demand": "；".join(hits)})
    return pd.DataFrame(rows, columns=["circle_code", "category_code", "annex5_demand"])


def missing_categories(access: pd.DataFrame, communities: pd.DataFrame, members: pd.DataFrame,
                       categories: pd.DataFrame, demands: pd.DataFrame, mentions: pd.DataFrame) -> pd.DataFrame:
    """缺什么: per community (once per circle it belongs to; circle_code None when in none)
    every category not present within its threshold that is required for coverage or that
    residents of its circle asked for. ``access``: mart.community_category_access columns;
    ``communities``: community_code, population; ``demands``: :func:`survey_demands`;
    ``mentions``: circle_code, category_code, respondents (distinct respondents naming it)."""
    required = set(categories.loc[categories["required_for_coverage"].astype(bool), "category_code"])
    absent = access.loc[~access["present"].astype(bool),
                        ["community_code", "category_code", "population_within", "method"]]
    circles = members[["circle_code", "community_code"]]
    outside = sorted(set(communities["community_code"]) - set(circles["community_code"]))
    circles = pd.concat([circles, pd.DataFrame({"circle_code": [None] * len(outside), "community_code": outside})],
                        ignore_index=True)
    df = absent.merge(circles, on="community_code").merge(
        communities[["community_code", "population"]], on="community_code", how="left")
    df = df.merge(demands, on=["circle_code", "category_code"], how="left").merge(
        mentions.rename(columns={"respondents": "survey_mentions"}), on=["circle_code", "category_code"], how="left")
    df["survey_mentions"] = df["survey_mentions"].fillna(0).astype(int)
    df["required"] = df["category_code"].isin(required)
    df["demanded_by_survey"] = df["annex5_demand"].notna() | (df["survey_mentions"] > 0)
    df = df[df["required"] | df["demanded_by_survey"]].copy()
    df["residents_affected"] = (df["population"].fillna(0) - df["population_within"]).clip(lower=0).astype(int)
    df["annex5_demand"] = df["annex5_demand"].astype(object).where(df["annex5_demand"].notna(), None)
    order = dict(zip(categories["category_code"], range(len(categories))))
    df["_o"] = df["category_code"].map(order)
    df = df.sort_values(["circle_code", "community_code", "_o", "category_code"], na_position="last", kind="stable")
    return df[MISSING_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------- survey-reported figures
def survey_indicators(period: str, unit_list: list[Unit], survey_categories: pd.DataFrame,
                      surveys: pd.DataFrame) -> pd.DataFrame:
    """Annex-5 figures per circle and summed for the city (circles with a form): outlets,
    employees (10k persons), chain outlets and their share, community commercial centres,
    residents covered (10k) — plus facility m² per 100 households as no_data (see
    :data:`FACILITY_M2_NO_DATA`). A circle without a form gets null values."""
    per_circle = survey_categories.groupby("circle_code").agg(
        outlets=("outlets", lambda s: s.sum(min_count=1)), employees=("employees_10k", lambda s: s.sum(min_count=1)),
        chain=("chain_outlets", lambda s: s.sum(min_count=1)))
    header = surveys.set_index("circle_code") if len(surveys) else pd.DataFrame(
        columns=["commercial_centres", "residents_covered_10k"])
    rows = []
    circles = [u for u in unit_list if u.level == "circle"]
    city = next((u for u in unit_list if u.level == "city"), None)

    def val(frame, code, col):
        if code not in frame.index or col not in frame.columns:
            return None
        v = frame.at[code, col]
        return None if v is None or pd.isna(v) else float(v)

    def figures(u: Unit, codes: list[str]):
        got = lambda frame, col: [v for v in (val(frame, c, col) for c in codes) if v is not None]  # noqa: E731
        outlets, chain = got(per_circle, "outlets"), got(per_circle, "chain")
        total = lambda xs, nd=2: round(sum(xs), nd) if xs else None  # noqa: E731
        rows.append(indicator_row(period, u, "reported_outlets", total(outlets)))
        rows.append(indicator_row(period, u, "reported_employees_10k", total(got(per_circle, "employees"))))
        rows.append(indicator_row(period, u, "reported_chain_outlets", total(chain)))
        if outlets and chain:
            rows.append(indicator_row(period, u, "reported_chain_share", _share(sum(chain), sum(outlets)),
                                      float(sum(chain)), float(sum(outlets))))
        else:
            rows.append(indicator_row(period, u, "reported_chain_share", None))
        rows.append(indicator_row(period, u, "reported_commercial_centres", total(got(header, "commercial_centres"))))
        rows.append(indicator_row(period, u, "reported_residents_covered_10k",
                                  total(got(header, "residents_covered_10k"))))
        rows.append(indicator_row(period, u, "facility_m2_per_100_households", None, method="no_data"))

    for u in circles:
        figures(u, [u.code])
    if city is not None:
        figures(city, [u.code for u in circles])
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)


# ---------------------------------------------------------------- Shenzhen: development forms
def development_form_indicators(period: str, unit_list: list[Unit], surveys: pd.DataFrame,
                                min_share: float = DEVELOPMENT_FORM_MIN_SHARE) -> pd.DataFrame:
    """City level: share of the pilot circles (every circle in core.circle) per development
    form from the annex-5 form, the circles whose form does not say, the smallest share and
    whether every form reaches ``min_share`` (1 = yes, 0 = no; null with no forms)."""
    city = next(u for u in unit_list if u.level == "city")
    circles = sorted(u.code for u in unit_list if u.level == "circle")
    forms = dict(zip(surveys["circle_code"], surveys["development_form"])) if len(surveys) else {}
    counts = {f: sum(1 for c in circles if forms.get(c) == f) for f in DEVELOPMENT_FORMS}
    stated = sum(counts.values())
    n = len(circles)
    rows = [indicator_row(period, city, f"development_form_{f}_share", _share(k, n), float(k), float(n))
            for f, k in counts.items()]
    rows.append(indicator_row(period, city, "development_form_unreported", float(n - stated)))
    shares = [_share(k, n) for k in counts.values()]
    low = None if not n or not stated else min(shares)
    rows.append(indicator_row(period, city, "development_form_min_share", low))
    rows.append(indicator_row(period, city, "development_forms_each_min_share_met",
                              None if low is None else float(low >= min_share - 1e-12)))
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)


# ---------------------------------------------------------------- Zhanjiang: 一店一早 / 一菜一修 / 一老一小
def pairs_path(cfg: dict) -> Path:
    """city.yaml ``zhanjiang_pairs`` in the config folder, else the repository's default copy."""
    raw = Path(cfg.get("zhanjiang_pairs", "config/typology/zhanjiang_pairs.csv"))
    parts = raw.parts[1:] if raw.parts and raw.parts[0] == "config" else raw.parts
    path = raw if raw.is_absolute() else refdata.config_dir().joinpath(*parts)
    if not path.exists():
        fallback = settings.repo_root() / "config" / "typology" / "zhanjiang_pairs.csv"
        log.info("%s not found; using the default pairs %s", path, fallback)
        return fallback
    return path


def load_pairs(path: Path) -> pd.DataFrame:
    """``pair_code,label_zh,side,category_code`` rows: a pair holds for a community when
    every side has at least one of its categories present."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    need = {"pair_code", "label_zh", "side", "category_code"}
    if not need <= set(df.columns):
        raise ValueError(f"{path}: columns {sorted(need - set(df.columns))} missing (need {sorted(need)})")
    blank = df[(df[list(need)] == "").any(axis=1)]
    if len(blank):
        raise ValueError(f"{path}: row {int(blank.index[0]) + 2} has an empty field")
    return df


def pair_flags(access: pd.DataFrame, pairs: pd.DataFrame, categories: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """(community_code x pair_code booleans, pairs that cannot be judged because a side
    has none of its categories in the city's taxonomy)."""
    known = set(categories["category_code"])
    present = access.pivot_table(index="community_code", columns="category_code", values="present",
                                 aggfunc="max", fill_value=False).astype(bool)
    flags, untracked = {}, []
    for code, g in pairs.groupby("pair_code", sort=False):
        ok = pd.Series(True, index=present.index)
        for _side, s in g.groupby("side", sort=False):
            cats = [c for c in s["category_code"] if c in known]
            if not cats:
                untracked.append(code)
                break
            cols = [c for c in cats if c in present.columns]
            ok &= present[cols].any(axis=1) if cols else False
        else:
            flags[code] = ok
    return pd.DataFrame(flags, index=present.index), untracked


def pair_indicators(period: str, unit_list: list[Unit], access: pd.DataFrame, pairs: pd.DataFrame,
                    categories: pd.DataFrame) -> pd.DataFrame:
    """``<pair_code>_share`` per unit: communities where the pair holds / communities
    (a community's own row is 1 or 0), and ``pairs_all_share`` (all pairs hold)."""
    flags, untracked = pair_flags(access, pairs, categories)
    method = access["method"].iloc[0] if len(access) else "network"
    codes = list(dict.fromkeys(pairs["pair_code"]))
    rows = []
    for u in unit_list:
        comms = sorted(c for c in u.communities if c in flags.index)
        for code in codes:
            if code in untracked:
                rows.append(indicator_row(period, u, f"{code}_share", None, method="no_data"))
                continue
            k = int(flags.loc[comms, code].sum()) if comms else 0
            rows.append(indicator_row(period, u, f"{code}_share", _share(k, len(comms)), float(k),
                                      float(len(comms)), method))
        if untracked:
            rows.append(indicator_row(period, u, "pairs_all_share", None, method="no_data"))
        else:
            k = int(flags.loc[comms].all(axis=1).sum()) if comms else 0
            rows.append(indicator_row(period, u, "pairs_all_share", _share(k, len(comms)), float(k),
                                      float(len(comms)), method))
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)


def typology_indicators(period: str, unit_list: list[Unit], typology: pd.DataFrame) -> pd.DataFrame:
    """``typology`` per circle: the grade's rank (0 = ungraded); the label is in mart.circle_typology."""
    rank = dict(zip(typology["circle_code"], typology["grade_rank"]))
    rows = [indicator_row(period, u, "typology", float(rank[u.code]), method="rules")
            for u in unit_list if u.level == "circle" and u.code in rank]
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)
