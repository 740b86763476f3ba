"""Indicators at community, circle, district and city level (long format).

Definitions (documented in README, section Indicators):
- a community is *covered* when every category marked required_for_coverage is present
  (reachable within its threshold by at least half its residents);
- residents covered = residents living where every required category is within threshold;
- chain share = open registered outlets of chain brands / open registered outlets;
- satisfaction = satisfied respondents / respondents (sample size kept beside it)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Unit:
    level: str
    code: str
    name: str
    communities: frozenset


def units(communities: pd.DataFrame, divisions: pd.DataFrame, circles: pd.DataFrame,
          members: pd.DataFrame) -> list[Unit]:
    names = dict(zip(divisions["code"], divisions["name"]))
    city = divisions[divisions["level"] == "city"].iloc[0]
    out = [Unit("city", city["code"], city["name"], frozenset(communities["community_code"]))]
    for code, group in communities.groupby("district_code"):
        out.append(Unit("district", code, names.get(code, code), frozenset(group["community_code"])))
    for row in circles.itertuples():
        comms = members.loc[members["circle_code"] == row.circle_code, "community_code"]
        out.append(Unit("circle", row.circle_code, row.name, frozenset(comms)))
    for row in communities.itertuples():
        out.append(Unit("community", row.community_code, row.name, frozenset([row.community_code])))
    return out


def _share(num, den):
    return (None if not den else round(float(num) / float(den), 4)), float(num), float(den)


def compute_indicators(period: str, access: pd.DataFrame, point_flags: pd.DataFrame,
                       communities: pd.DataFrame, unit_list: list[Unit], categories: pd.DataFrame,
                       open_outlets: pd.DataFrame, located: pd.DataFrame,
                       satisfaction: pd.DataFrame, surveys: pd.DataFrame, built_circles: set[str]) -> pd.DataFrame:
    """Every indicator for every unit. ``open_outlets``: community_code, is_chain (registered
    outlets open at the period end); ``located``: community_code (POIs of the snapshot);
    ``satisfaction``: circle_code, responses, satisfied; ``surveys``: circle_code,
    facility_area_share_pct; ``built_circles``: circles built by the period's end."""
    required = set(categories.loc[categories["required_for_coverage"].astype(bool), "category_code"])
    req = access[access["category_code"].isin(required)]
    present_count = req.groupby("community_code")["present"].sum()
    covered = (present_count == len(required))
    method = access["method"].iloc[0] if len(access) else "network"
    pop_by_comm = point_flags.groupby("community_code")["population"].sum()
    pop_cov = point_flags[point_flags["covered_all"]].groupby("community_code")["population"].sum()
    outlets_by = open_outlets.groupby("community_code").agg(n=("is_chain", "size"), chain=("is_chain", "sum"))
    located_by = located.groupby("community_code").size()
    in_built = set()
    for u in unit_list:
        if u.level == "circle" and u.code in built_circles:
            in_built |= u.communities
    sat = satisfaction.set_index("circle_code") if len(satisfaction) else pd.DataFrame()
    srv = surveys.set_index("circle_code") if len(surveys) else pd.DataFrame()

    rows = []

    def add(u: Unit, indicator: str, value, num=None, den=None, how=method):
        rows.append({"period": period, "level": u.level, "unit_code": u.code, "unit_name": u.name,
                     "indicator": indicator, "value": value, "numerator": num, "denominator": den,
                     "method": how})

    for u in unit_list:
        comms = sorted(u.communities)
        n_cov = int(covered.reindex(comms, fill_value=False).sum())
        add(u, "communities_covered_share", *_share(n_cov, len(comms)))
        add(u, "residents_covered_share", *_share(pop_cov.reindex(comms, fill_value=0).sum(),
                                                  pop_by_comm.reindex(comms, fill_value=0).sum()))
        n_out = int(outlets_by["n"].reindex(comms, fill_value=0).sum())
        n_chain = int(outlets_by["chain"].reindex(comms, fill_value=0).sum())
        add(u, "registered_outlets", float(n_out), how="registry")
        add(u, "chain_share", *_share(n_chain, n_out), how="registry")
        add(u, "located_outlets", float(located_by.reindex(comms, fill_value=0).sum()), how="map")
        if u.level == "community":
            missing = len(required) - int(present_count.get(u.code, 0))
            add(u, "missing_basic_categories", float(missing))
        if u.level in ("city", "district"):
            add(u, "communities_in_built_circles_share", *_share(len(u.communities & in_built), len(comms)), how="registry")
        if u.level == "circle":
            if u.code in sat.index:
                r = sat.loc[u.code]
                add(u, "satisfaction_pct", *(lambda v, n, d: (None if v is None else round(v * 100, 2), n, d))(
                    *_share(r["satisfied"], r["responses"])), how="survey")
            else:
                add(u, "satisfaction_pct", None, how="survey")
            val = srv.loc[u.code, "facility_area_share_pct"] if u.code in srv.index else None
            add(u, "facility_area_share_pct", None if val is None or pd.isna(val) else float(val), how="survey")
    if len(satisfaction):
        city = next(u for u in unit_list if u.level == "city")
        v, n, d = _share(satisfaction["satisfied"].sum(), satisfaction["responses"].sum())
        add(city, "satisfaction_pct", None if v is None else round(v * 100, 2), n, d, how="survey")
    return pd.DataFrame(rows)
