"""Outlets (商业网点) of the sample city: what, where, when.

Why it is built this way: the pipeline's point is a monthly coverage trajectory, so
the ground truth must contain one. Three mechanisms produce it, all seeded:

1. *Stock growth.* Opening dates run from 2021-01-01 to ``as_of`` with more openings per
   month in 2023-2025, peaking in the two construction pushes the Tianshui plan sets
   (pilot batch Sep-Nov 2023, second batch from Aug 2024).
2. *Filled gaps.* Communities are grouped into construction batches (the configured
   pilot circles are batch 1; the remaining communities form batch 2 and 3 groups).
   Each group lacks one or two basic categories until its batch date, when the first
   outlets of that category open (缺什么、补什么).
3. *Lasting gaps.* Small patches of neighbouring communities never get some basic
   category (a wet market, a recycling point ...), so not everything reaches 100 %.

Outlets are placed around their community (about 160 m spread) and then moved onto
the nearest street of the district grid, which also gives them a road name and a
house number for the address.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from lifecircle.samplecity.geography import Geography
from lifecircle.samplecity.network import MAIN_ROAD_EVERY, Network

START_DATE = date(2021, 1, 1)
CLOSED_SHARE = 0.12
MIN_LIFETIME_DAYS = 60
OUTLET_SPREAD_M = 160.0
OUTLET_MAX_OFFSET_M = 500.0

# Relative frequency of categories (many hair salons and small shops, few bookstores).
CATEGORY_WEIGHTS = {
    "convenience_store": 12.0, "supermarket": 4.0, "wet_market": 0.5, "fresh_food_store": 5.0,
    "breakfast": 9.0, "repair": 4.0, "laundry": 2.5, "hair_beauty": 13.0, "photo_print": 2.0,
    "pharmacy": 5.0, "housekeeping": 2.0, "post_parcel": 3.5, "recycling": 0.6,
    "basic_other": 4.0, "bookstore": 0.4, "fitness": 2.0, "specialty_dining": 14.0,
    "elderly_care": 0.8, "childcare": 0.5, "wellness": 3.0, "education": 4.0, "leisure": 4.0,
    "quality_other": 3.0, "community_canteen": 0.4, "front_warehouse": 0.5,
}
DEFAULT_WEIGHT = 1.0

# Basic categories a construction group may lack until its batch date (rare ones first).
GAIN_WEIGHTS = {
    "wet_market": 3.0, "recycling": 3.0, "laundry": 2.0, "photo_print": 2.0, "housekeeping": 2.0,
    "repair": 1.5, "fresh_food_store": 1.5, "breakfast": 1.0, "pharmacy": 1.0,
    "post_parcel": 1.0, "supermarket": 1.0, "convenience_store": 0.5, "hair_beauty": 0.3,
}
# Basic categories some neighbourhoods never get.
NEVER_WEIGHTS = {
    "wet_market": 3.0, "recycling": 2.5, "housekeeping": 1.5, "photo_print": 1.0,
    "laundry": 1.0, "repair": 0.5, "fresh_food_store": 0.5,
}
NEVER_PATCH_SHARE = 0.04  # patch centres per community
NEVER_PATCH_RADIUS_M = 700.0
# construction batch -> window in which the missing categories arrive
BATCH_WINDOWS = {1: (date(2023, 9, 1), date(2023, 11, 25)),
                 2: (date(2024, 8, 1), date(2024, 12, 20)),
                 3: (date(2025, 3, 1), date(2025, 11, 30))}


def month_weight(year: int, month: int) -> float:
    """Relative number of openings in a month (the registry's growth curve)."""
    if year <= 2021:
        return 1.6
    if year == 2022:
        return 1.2
    if year == 2023:
        return 2.2 if 9 <= month <= 11 else 1.3
    if year == 2024:
        return 2.0 if month >= 8 else 1.5
    if year == 2025:
        return 1.3
    return 0.8


def _d64(d: date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


@dataclass
class Outlets:
    """Column arrays (plain numpy, object dtype for text: a million rows of pandas
    string columns cost seconds in conversions) and gap statistics."""

    cols: dict[str, np.ndarray]
    stats: dict = field(default_factory=dict)


def _sample_open_dates(rng, n: int, as_of: date) -> np.ndarray:
    months = pd.period_range(START_DATE.strftime("%Y-%m"), as_of.strftime("%Y-%m"), freq="M")
    w = np.array([month_weight(p.year, p.month) for p in months])
    m_idx = rng.choice(len(months), size=n, p=w / w.sum())
    starts = np.array([np.datetime64(p.start_time.date().isoformat(), "D") for p in months])
    ndays = np.array([p.days_in_month for p in months])
    ndays[-1] = as_of.day
    return starts[m_idx] + (rng.uniform(size=n) * ndays[m_idx]).astype(np.int64)


def construction_groups(geo: Geography, rng) -> list[tuple[np.ndarray, int]]:
    """(community indices, batch) groups. Configured circles keep their batch; the other
    communities are chunked street by street into groups of 4-6, about 4/7 of them in
    batch 2 and the rest in batch 3 (plan: 30 % by 2023, 70 % by 2024, all by 2025)."""
    comm = geo.communities
    idx = {c: i for i, c in enumerate(comm["community_code"])}
    groups = []
    used = np.zeros(len(comm), dtype=bool)
    for c in geo.circles:
        m = np.array([idx[x] for x in c["members"] if x in idx], dtype=np.int64)
        if len(m):
            groups.append((m, int(c.get("batch", 1) or 1)))
            used[m] = True
    if geo.mode == "tianshui":
        rest = np.nonzero(~used)[0]
        streets = comm["street_code"].to_numpy()
        start = 0
        while start < len(rest):
            k = int(rng.integers(4, 7))
            chunk = rest[start:start + k]
            chunk = chunk[streets[chunk] == streets[chunk[0]]]
            groups.append((chunk, 2 if rng.uniform() < 4 / 7 else 3))
            start += len(chunk)
    return groups


def generate_outlets(geo: Geography, net: Network, categories: pd.DataFrame, n_outlets: int,
                     as_of: date, rng: np.random.Generator) -> Outlets:
    """Category, community, location, open/close dates of ``n_outlets`` outlets."""
    comm = geo.communities
    n_comm = len(comm)
    cats = list(categories["category_code"])
    n_cat = len(cats)
    cat_idx = {c: i for i, c in enumerate(cats)}
    required = set(categories.loc[categories["required_for_coverage"], "category_code"])

    # 1. community and category of each outlet
    attract = comm["population"].to_numpy() * rng.lognormal(0.0, 0.4, size=n_comm)
    community = rng.choice(n_comm, size=n_outlets, p=attract / attract.sum())
    w = np.array([CATEGORY_WEIGHTS.get(c, DEFAULT_WEIGHT) for c in cats])
    category = rng.choice(n_cat, size=n_outlets, p=w / w.sum())

    # 2. gap design: 0 normal, 1 never, 2 gained on gain_date
    status = np.zeros((n_comm, n_cat), dtype=np.int8)
    gain_date = np.full((n_comm, n_cat), np.datetime64("NaT"), dtype="datetime64[D]")
    xy = comm[["x", "y"]].to_numpy()
    tree = cKDTree(xy)
    never_codes = [c for c in NEVER_WEIGHTS if c in cat_idx and c in required]
    n_patches = int(round(NEVER_PATCH_SHARE * n_comm)) if never_codes else 0
    if n_patches:
        nw = np.array([NEVER_WEIGHTS[c] for c in never_codes])
        centres = rng.choice(n_comm, size=n_patches, replace=False)
        pcats = rng.choice(len(never_codes), size=n_patches, p=nw / nw.sum())
        for ctr, pc in zip(centres, pcats):
            members = tree.query_ball_point(xy[ctr], NEVER_PATCH_RADIUS_M)
            status[members, cat_idx[never_codes[pc]]] = 1
    gain_codes = [c for c in GAIN_WEIGHTS if c in cat_idx and c in required]
    gw = np.array([GAIN_WEIGHTS[c] for c in gain_codes])
    for members, batch in construction_groups(geo, rng):
        if not gain_codes:
            break
        lo, hi = BATCH_WINDOWS.get(batch, BATCH_WINDOWS[3])
        k = int(rng.integers(1, 3))
        picks = rng.choice(len(gain_codes), size=min(k, len(gain_codes)), replace=False, p=gw / gw.sum())
        for pc in picks:
            when = _d64(lo) + int(rng.integers(0, (hi - lo).days + 1))
            j = cat_idx[gain_codes[pc]]
            status[members, j] = 2
            gain_date[members, j] = when
    as_of64 = _d64(as_of)
    late = (status == 2) & (gain_date > as_of64)  # not gained yet at as_of
    status[late] = 1

    # 3. move outlets out of "never" cells (keep their category, pick another community)
    for _ in range(50):
        bad = np.nonzero(status[community, category] == 1)[0]
        if not len(bad):
            break
        community[bad] = rng.choice(n_comm, size=len(bad), p=attract / attract.sum())
    else:  # pathological: category never allowed anywhere -> make it hair_beauty
        bad = np.nonzero(status[community, category] == 1)[0]
        category[bad] = cat_idx.get("hair_beauty", 0)

    # 4. every gain cell gets at least one outlet (convert the community's commonest shop)
    cells = np.argwhere(status == 2)
    counts = np.zeros((n_comm, n_cat), dtype=np.int64)
    np.add.at(counts, (community, category), 1)
    order = np.argsort(community, kind="stable")
    bounds = np.searchsorted(community[order], np.arange(n_comm + 1))
    forced = 0
    for ci, cj in cells:
        if counts[ci, cj] > 0:
            continue
        mine = order[bounds[ci]:bounds[ci + 1]]
        mine = mine[status[ci, category[mine]] == 0]
        if not len(mine):
            continue
        o = mine[int(rng.integers(0, len(mine)))]
        counts[ci, category[o]] -= 1
        category[o] = cj
        counts[ci, cj] += 1
        forced += 1

    # 5. dates
    open_d = _sample_open_dates(rng, n_outlets, as_of)
    in_gain = status[community, category] == 2
    g_d = gain_date[community[in_gain], category[in_gain]]
    delay = np.floor(rng.uniform(size=int(in_gain.sum())) ** 2 * 200).astype(np.int64)
    open_d[in_gain] = np.minimum(g_d + delay, as_of64)
    close_d = np.full(n_outlets, np.datetime64("NaT"), dtype="datetime64[D]")
    span = (as_of64 - open_d).astype(np.int64)
    eligible = np.nonzero((span >= MIN_LIFETIME_DAYS + 1) & ~in_gain)[0]
    n_closed = min(len(eligible), int(round(CLOSED_SHARE * n_outlets)))
    closed = np.sort(rng.choice(eligible, size=n_closed, replace=False))
    life = MIN_LIFETIME_DAYS + np.floor(rng.uniform(size=n_closed) * (span[closed] - MIN_LIFETIME_DAYS)).astype(np.int64)
    close_d[closed] = open_d[closed] + life

    # 6. location on a street of the district grid
    x, y, road, house_no = _place_on_streets(geo, net, community, rng)
    lng, lat = geo.proj.to_lnglat(x, y)
    cols = {
        "outlet_id": np.array([f"O{i + 1:07d}" for i in range(n_outlets)], dtype=object),
        "community_idx": community,
        "category_code": np.asarray(cats, dtype=object)[category],
        "x": x, "y": y,
        "lng": np.round(lng, 6), "lat": np.round(lat, 6),
        "open_date": open_d, "close_date": close_d,
        "road": road, "house_no": house_no,
        "gained": in_gain,
    }
    stats = {
        "never_cells": int((status == 1).sum()),
        "gain_cells": int((status == 2).sum()),
        "gain_outlets_forced": forced,
        "closed": int(n_closed),
    }
    return Outlets(cols=cols, stats=stats)


def _place_on_streets(geo: Geography, net: Network, community: np.ndarray, rng):
    """Scatter around the community, then snap to the nearest N-S or E-W street line."""
    comm = geo.communities
    n = len(community)
    d_idx = comm["district_idx"].to_numpy()[community]
    off = np.clip(rng.normal(0.0, OUTLET_SPREAD_M, size=(n, 2)), -OUTLET_MAX_OFFSET_M, OUTLET_MAX_OFFSET_M)
    x = comm["x"].to_numpy()[community] + off[:, 0]
    y = comm["y"].to_numpy()[community] + off[:, 1]
    on_ns = rng.uniform(size=n) < 0.5
    side = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    setback = rng.uniform(6.0, 15.0, size=n) * side
    road = np.empty(n, dtype=object)
    house = np.zeros(n, dtype=np.int64)
    grid_by_d = {g.district_code: g for g in net.grids}
    d_codes = geo.districts["district_code"].to_numpy()
    for di in np.unique(d_idx):
        g = grid_by_d[d_codes[di]]
        m = np.nonzero(d_idx == di)[0]
        gx = np.clip(x[m], g.x0 + 20, g.xmax - 20)
        gy = np.clip(y[m], g.y0 + 20, g.ymax - 20)
        i = np.clip(np.rint((gx - g.x0) / g.sx).astype(np.int64), 1, g.nx - 2)
        j = np.clip(np.rint((gy - g.y0) / g.sy).astype(np.int64), 1, g.ny - 2)
        ns = on_ns[m]
        gx = np.where(ns, g.x0 + i * g.sx + setback[m], gx)
        gy = np.where(ns, gy, g.y0 + j * g.sy + setback[m])
        x[m], y[m] = gx, gy
        cx, cy = (g.x0 + g.xmax) / 2, (g.y0 + g.ymax) / 2
        v_main = (np.arange(g.nx) % MAIN_ROAD_EVERY) == g.main_off
        h_main = (np.arange(g.ny) % MAIN_ROAD_EVERY) == g.main_off
        v_stem = np.asarray(g.v_stems, dtype=object)[i]
        v_type = np.asarray(g.v_types, dtype=object)[i]
        h_stem = np.asarray(g.h_stems, dtype=object)[j]
        h_type = np.asarray(g.h_types, dtype=object)[j]
        v_dir = np.where(v_main[i] & (v_type == "路"), np.where(gy > cy, "北", "南"), "")
        h_dir = np.where(h_main[j] & (h_type == "路"), np.where(gx > cx, "东", "西"), "")
        name = np.where(ns, v_stem + v_dir.astype(object) + v_type, h_stem + h_dir.astype(object) + h_type)
        # house numbers: main roads count from the centre (or the road's start), side
        # streets and lanes from the last main road they cross, odd/even by side
        on_main = np.where(ns, v_main[i], h_main[j])
        directional = np.where(ns, v_dir, h_dir) != ""
        from_start = np.where(ns, g.ymax - gy, gx - g.x0)
        from_centre = np.abs(np.where(ns, gy - cy, gx - cx))
        block = MAIN_ROAD_EVERY * np.where(ns, g.sy, g.sx)
        along = np.where(on_main, np.where(directional, from_centre, from_start), from_start % block)
        num = (np.floor(along / 15.0).astype(np.int64) + 1) * 2 - (side[m] < 0)
        road[m] = name
        house[m] = np.maximum(num, 1)
    return x, y, road, house
