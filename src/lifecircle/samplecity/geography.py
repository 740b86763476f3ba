"""Districts, streets, communities, population and circles of the sample city.

Why it looks like this: the pipeline only needs plausible geometry, not the real
street plan, but the numbers must hang together (communities 250-600 m apart, streets
contiguous, pilot circles made of neighbouring communities, population that sums up).
So communities sit on a jittered 420 m lattice; each street is a block of lattice
columns four communities tall, and a district is one or two rows of street blocks
separated by an empty lattice row where the river runs (the Ji river in 秦州区, the Wei
in 麦积区). Coordinates are computed in local metres and projected to WGS-84 with an
equirectangular projection about the city centre, which is exact enough (< 0.1 %) over
a few tens of kilometres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lifecircle.samplecity.names import DISTRICT_STEMS, NUMERALS, unique_place_names

COMMUNITY_SPACING_M = 420.0
COMMUNITY_JITTER_M = 70.0  # uniform +-70 m per axis keeps neighbours 280-580 m apart
ROWS_PER_STREET = 4
POP_RANGE = (3000, 15000)
PERSONS_PER_HOUSEHOLD = 2.8
POINTS_PER_COMMUNITY = (3, 6)
POINT_RADIUS_M = 150.0
BENCH_COMMUNITIES_PER_DISTRICT = 400
DISTRICT_GAP_M = 1500.0

M_PER_DEG_LAT = 110574.0
M_PER_DEG_LNG_EQ = 111320.0


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular projection about (lng0, lat0): metres east/north <-> degrees."""

    lng0: float
    lat0: float

    @property
    def kx(self) -> float:
        return M_PER_DEG_LNG_EQ * math.cos(math.radians(self.lat0))

    def to_lnglat(self, x, y):
        return self.lng0 + np.asarray(x) / self.kx, self.lat0 + np.asarray(y) / M_PER_DEG_LAT

    def to_xy(self, lng, lat):
        return (np.asarray(lng) - self.lng0) * self.kx, (np.asarray(lat) - self.lat0) * M_PER_DEG_LAT


@dataclass
class CityProfile:
    """Names and codes the generated records carry (address text, adcodes, phone prefix)."""

    key: str
    name: str
    adcode: str
    province: str
    province_code: str
    citycode: str  # AMap citycode = telephone area code
    centre: tuple[float, float]
    district_names: dict[str, str] = field(default_factory=dict)
    district_centres: dict[str, tuple[float, float]] = field(default_factory=dict)
    # street blocks per district, west to east, one list per row north to south
    street_rows: dict[str, list[list[str]]] = field(default_factory=dict)


TIANSHUI = CityProfile(
    key="tianshui", name="天水市", adcode="620500", province="甘肃省", province_code="620000",
    citycode="0938", centre=(105.80, 34.57),
    district_names={"620502": "秦州区", "620503": "麦积区"},
    district_centres={"620502": (105.72, 34.58), "620503": (105.89, 34.56)},
    street_rows={
        # 秦州区: 西关 中城 大城 东关 七里墩 north of the Ji river, 石马坪 天水郡 south
        "620502": [["620502005", "620502004", "620502001", "620502003", "620502002"],
                   ["620502006", "620502007"]],
        # 麦积区: 道北 北道埠 north of the Wei, 桥南 south
        "620503": [["620503001", "620503002"], ["620503003"]],
    },
)
PROVINCES = {"620000": "甘肃省", "440000": "广东省", "350000": "福建省", "310000": "上海市"}


def load_profile(city: str) -> CityProfile:
    """The built-in profile for ``city``, updated from ``config/cities/<city>/city.yaml``."""
    from lifecircle import refdata

    base = TIANSHUI if city == "tianshui" else None
    try:
        cfg = refdata.load_city(city)
    except FileNotFoundError:
        cfg = {}
    if base is None and not cfg:
        raise ValueError(f"no built-in profile and no city.yaml for city {city!r}")
    if base is None:
        bbox = cfg.get("bbox") or {}
        centre = ((bbox.get("min_lng", 105.7) + bbox.get("max_lng", 105.9)) / 2,
                  (bbox.get("min_lat", 34.5) + bbox.get("max_lat", 34.6)) / 2)
        base = CityProfile(key=city, name=cfg.get("name", city), adcode=str(cfg.get("adcode", "")),
                           province="", province_code=str(cfg.get("province_code", "")),
                           citycode=str(cfg.get("citycode", "")), centre=centre)
    prov_code = str(cfg.get("province_code", base.province_code))
    names = dict(base.district_names)
    for d in cfg.get("districts") or []:
        names[str(d["code"])] = d["name"]
    return CityProfile(
        key=city, name=cfg.get("name", base.name), adcode=str(cfg.get("adcode", base.adcode)),
        province=PROVINCES.get(prov_code, base.province), province_code=prov_code,
        citycode=str(cfg.get("citycode", base.citycode)), centre=base.centre,
        district_names=names, district_centres=dict(base.district_centres),
        street_rows=dict(base.street_rows))


@dataclass
class Geography:
    profile: CityProfile
    proj: LocalProjection
    districts: pd.DataFrame  # district_code, name
    streets: pd.DataFrame  # street_code, name, district_code
    communities: pd.DataFrame  # contract columns + x, y, district_idx
    clusters: list[dict]  # per district: district_code, xmin, xmax, ymin, ymax, river_ys
    circles: list[dict]  # circle_code, name, anchor_community, build_year, batch, members
    mode: str = "tianshui"


# ------------------------------------------------------------------ layout
def _layout_district(street_sizes: list[int], rows_hint: list[list[int]] | None):
    """Lattice slots for one district. Returns (list of (x, y) arrays per street, river_ys).

    Street ``s`` occupies ``ceil(n_s / 4)`` lattice columns; its communities fill them
    column by column, so consecutive codes are neighbours. Rows of street blocks are
    centred on each other and separated by one empty lattice row (the river).
    """
    R, S = ROWS_PER_STREET, COMMUNITY_SPACING_M
    cols = [max(1, math.ceil(n / R)) for n in street_sizes]
    if rows_hint is None:
        total = sum(cols)
        n_rows = max(1, round(math.sqrt(total / (R + 1))))
        target = total / n_rows
        rows_hint = [[] for _ in range(n_rows)]
        cum = 0
        for s, c in enumerate(cols):
            rows_hint[min(n_rows - 1, int((cum + c / 2) // target))].append(s)
            cum += c
        rows_hint = [r for r in rows_hint if r]
    widths = [sum(cols[s] for s in row) for row in rows_hint]
    max_w = max(widths)
    slots: list[np.ndarray | None] = [None] * len(street_sizes)
    for b, row in enumerate(rows_hint):
        col_off = (max_w - widths[b]) / 2.0
        for s in row:
            k = np.arange(street_sizes[s])
            x = (col_off + k // R) * S
            y = -(b * (R + 1) + k % R) * S
            slots[s] = np.column_stack([x, y]).astype(float)
            col_off += cols[s]
    allxy = np.vstack([s for s in slots if s is not None and len(s)])
    cx = (allxy[:, 0].min() + allxy[:, 0].max()) / 2
    cy = (allxy[:, 1].min() + allxy[:, 1].max()) / 2
    out = [s - [cx, cy] for s in slots]
    river_ys = [-(b * (R + 1) + R) * S - cy for b in range(len(rows_hint) - 1)]
    return out, river_ys


def _place(geo_rows: list[dict], street_order: dict[str, list[str]],
           rows_hints: dict[str, list[list[str]]], centres_xy: dict[str, tuple[float, float]],
           rng: np.random.Generator):
    """Compute x, y for each community (dicts in ``geo_rows``), and the cluster boxes."""
    by_street: dict[str, list[int]] = {}
    for i, r in enumerate(geo_rows):
        by_street.setdefault(r["street_code"], []).append(i)
    clusters = []
    xy = np.zeros((len(geo_rows), 2))
    for d_code, streets in street_order.items():
        streets = [s for s in streets if s in by_street]
        if not streets:
            continue
        sizes = [len(by_street[s]) for s in streets]
        hint = None
        if d_code in rows_hints:
            pos = {s: i for i, s in enumerate(streets)}
            hint = [[pos[s] for s in row if s in pos] for row in rows_hints[d_code]]
            placed = {i for row in hint for i in row}
            missing = [i for i in range(len(streets)) if i not in placed]
            hint = [row for row in hint if row]
            if missing:
                hint.append(missing)
        slots, river_ys = _layout_district(sizes, hint)
        cx, cy = centres_xy[d_code]
        for s, sl in zip(streets, slots):
            xy[by_street[s]] = sl + [cx, cy]
        members = np.concatenate([by_street[s] for s in streets])
        box = xy[members]
        clusters.append({
            "district_code": d_code,
            "xmin": float(box[:, 0].min()), "xmax": float(box[:, 0].max()),
            "ymin": float(box[:, 1].min()), "ymax": float(box[:, 1].max()),
            "river_ys": [y + cy for y in river_ys],
        })
    jitter = rng.uniform(-COMMUNITY_JITTER_M, COMMUNITY_JITTER_M, size=xy.shape)
    return xy + jitter, clusters


def _district_extent(sizes: list[int]) -> tuple[float, float]:
    slots, _ = _layout_district(sizes, None)
    allxy = np.vstack(slots)
    return (float(np.ptp(allxy[:, 0])), float(np.ptp(allxy[:, 1])))


# ------------------------------------------------------------------ city modes
def _finish(profile, proj, districts, streets, comm, xy, clusters, circles, rng, mode):
    n = len(comm)
    comm = comm.copy()
    comm["x"] = xy[:, 0]
    comm["y"] = xy[:, 1]
    lng, lat = proj.to_lnglat(comm["x"].to_numpy(), comm["y"].to_numpy())
    comm["lng"] = np.round(lng, 6)
    comm["lat"] = np.round(lat, 6)
    pop = rng.integers(POP_RANGE[0], POP_RANGE[1] + 1, size=n)
    comm["population"] = pop
    comm["households"] = np.floor(pop / PERSONS_PER_HOUSEHOLD + 0.5).astype(np.int64)
    d_index = {c: i for i, c in enumerate(districts["district_code"])}
    comm["district_idx"] = comm["district_code"].map(d_index).astype(int)
    return Geography(profile=profile, proj=proj, districts=districts, streets=streets,
                     communities=comm.reset_index(drop=True), clusters=clusters,
                     circles=circles, mode=mode)


def tianshui_geography(profile: CityProfile, rng: np.random.Generator) -> Geography:
    """Communities, streets and circles from ``config/cities/<city>/`` (the real city)."""
    from lifecircle import refdata

    comm = refdata.load_communities(profile.key)
    comm = comm[["community_code", "name", "street_code", "district_code", "synthetic"]].copy()
    div = refdata.load_divisions(profile.key)
    districts = div[div["level"] == "district"][["code", "name"]].rename(columns={"code": "district_code"})
    districts = districts[districts["district_code"].isin(comm["district_code"])].reset_index(drop=True)
    streets = div[div["level"] == "street"][["code", "name", "parent_code"]].rename(
        columns={"code": "street_code", "parent_code": "district_code"})
    streets = streets[streets["street_code"].isin(comm["street_code"])].reset_index(drop=True)
    proj = LocalProjection(*profile.centre)
    centres = {}
    east = max((c[0] for c in profile.district_centres.values()), default=profile.centre[0])
    for d in districts["district_code"]:
        if d not in profile.district_centres:
            east += 0.12
            profile.district_centres[d] = (east, profile.centre[1])
        x, y = proj.to_xy(*profile.district_centres[d])
        centres[d] = (float(x), float(y))
    order = {d: list(streets.loc[streets["district_code"] == d, "street_code"])
             for d in districts["district_code"]}
    rows = comm.to_dict("records")
    xy, clusters = _place(rows, order, profile.street_rows, centres, rng)
    circles = _config_circles(profile.key, comm)
    return _finish(profile, proj, districts, streets, comm, xy, clusters, circles, rng, "tianshui")


def _config_circles(city: str, comm: pd.DataFrame) -> list[dict]:
    from lifecircle import refdata

    try:
        circles = refdata.load_circles(city)
        members = refdata.load_circle_members(city)
    except FileNotFoundError:
        return []
    known = set(comm["community_code"])
    out = []
    for row in circles.to_dict("records"):
        m = [c for c in members.loc[members["circle_code"] == row["circle_code"], "community_code"] if c in known]
        out.append({"circle_code": row["circle_code"], "name": row["name"],
                    "anchor_community": row["anchor_community"], "build_year": int(row["build_year"]),
                    "batch": int(row.get("batch", 1) or 1), "members": m})
    return out


def _bench_district_codes(adcode: str, n: int, names: dict[str, str]) -> list[str]:
    prefix = adcode[:4]
    serials = [2, 3] + list(range(4, 21)) + list(range(26, 100))
    if n > len(serials):
        raise ValueError(f"at most {len(serials)} districts per city")
    return [f"{prefix}{s:02d}" for s in serials[:n]]


def bench_geography(profile: CityProfile, n_communities: int, rng: np.random.Generator) -> Geography:
    """A synthetic city of ``n_communities`` (codes in the real format) for benchmarks."""
    n = int(n_communities)
    if n < 1:
        raise ValueError("n_communities must be >= 1")
    n_d = max(1 if n < 8 else 2, math.ceil(n / BENCH_COMMUNITIES_PER_DISTRICT))
    d_codes = _bench_district_codes(profile.adcode or "620500", n_d, profile.district_names)
    stems = list(rng.permutation(DISTRICT_STEMS))
    d_names = []
    for i, code in enumerate(d_codes):
        if code in profile.district_names:
            d_names.append(profile.district_names[code])
        else:
            k = i // len(stems)
            d_names.append(stems[i % len(stems)] + (NUMERALS[k] if k else "") + "区")
    sizes_d = [n // n_d + (1 if i < n % n_d else 0) for i in range(n_d)]
    street_sizes: list[list[int]] = []
    for size in sizes_d:
        parts: list[int] = []
        left = size
        while left > 0:
            k = int(rng.integers(8, 21))
            k = min(k, left)
            if left - k < 4:
                k = left
            parts.append(k)
            left -= k
        street_sizes.append(parts)
    n_streets = sum(len(p) for p in street_sizes)
    s_names = unique_place_names(rng, n_streets, "街道")
    c_names = unique_place_names(rng, n, "社区", exclude={s[:-2] + "社区" for s in s_names})
    srows, crows = [], []
    si = ci = 0
    for d_code, parts in zip(d_codes, street_sizes):
        for j, k in enumerate(parts):
            s_code = f"{d_code}{j + 1:03d}"
            srows.append({"street_code": s_code, "name": s_names[si], "district_code": d_code})
            si += 1
            for m in range(k):
                crows.append({"community_code": f"{s_code}{m + 1:03d}", "name": c_names[ci],
                              "street_code": s_code, "district_code": d_code, "synthetic": True})
                ci += 1
    districts = pd.DataFrame({"district_code": d_codes, "name": d_names})
    streets = pd.DataFrame(srows)
    comm = pd.DataFrame(crows)
    # districts on a square grid of equal cells, centred on the city centre
    ext = [_district_extent(p) for p in street_sizes]
    cell_w = max(e[0] for e in ext) + DISTRICT_GAP_M
    cell_h = max(e[1] for e in ext) + DISTRICT_GAP_M
    gcols = math.ceil(math.sqrt(n_d))
    grows = math.ceil(n_d / gcols)
    centres = {}
    for i, d in enumerate(d_codes):
        c, r = i % gcols, i // gcols
        centres[d] = ((c - (gcols - 1) / 2) * cell_w, ((grows - 1) / 2 - r) * cell_h)
    order = {d: list(streets.loc[streets["district_code"] == d, "street_code"]) for d in d_codes}
    proj = LocalProjection(*profile.centre)
    xy, clusters = _place(comm.to_dict("records"), order, {}, centres, rng)
    circles = _bench_circles(comm, rng)
    return _finish(profile, proj, districts, streets, comm, xy, clusters, circles, rng, "bench")


def _bench_circles(comm: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """One circle per ~5 consecutive communities of a street; batches 1/2/3 = 30/40/30 %."""
    out = []
    i = 0
    for s_code, grp in comm.groupby("street_code", sort=False):
        codes = list(grp["community_code"])
        names = list(grp["name"])
        start = 0
        while start < len(codes):
            k = int(rng.integers(4, 7))
            if len(codes) - (start + k) < 3:
                k = len(codes) - start
            i += 1
            batch = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
            anchor = names[start]
            out.append({"circle_code": f"C{i:05d}",
                        "name": f"{anchor[:-2]}一刻钟便民生活圈({anchor})",
                        "anchor_community": codes[start], "build_year": 2022 + batch,
                        "batch": batch, "members": codes[start:start + k]})
            start += k
    return out


# ------------------------------------------------------------------ population
def population_points(geo: Geography, rng: np.random.Generator) -> pd.DataFrame:
    """3-6 points per community within 150 m of its centroid; counts sum exactly.

    The split is a multinomial draw with Dirichlet-like weights, so the sum is exact by
    construction rather than by rounding and repair.
    """
    comm = geo.communities
    n = len(comm)
    lo, hi = POINTS_PER_COMMUNITY
    k = rng.integers(lo, hi + 1, size=n)
    w = rng.gamma(4.0, size=(n, hi))
    w[np.arange(hi)[None, :] >= k[:, None]] = 0.0
    p = w / w.sum(axis=1, keepdims=True)
    counts = rng.multinomial(comm["population"].to_numpy(), p)
    r = POINT_RADIUS_M * np.sqrt(rng.uniform(size=(n, hi)))
    t = rng.uniform(0, 2 * np.pi, size=(n, hi))
    x = comm["x"].to_numpy()[:, None] + r * np.cos(t)
    y = comm["y"].to_numpy()[:, None] + r * np.sin(t)
    keep = (np.arange(hi)[None, :] < k[:, None]) & (counts > 0)
    ci, pj = np.nonzero(keep)
    lng, lat = geo.proj.to_lnglat(x[ci, pj], y[ci, pj])
    codes = comm["community_code"].to_numpy()[ci]
    return pd.DataFrame({
        "point_id": pd.Series(codes, dtype=object) + "P" + pd.Series(pj + 1).astype(str),
        "community_code": codes,
        "lng": np.round(lng, 6),
        "lat": np.round(lat, 6),
        "population": counts[ci, pj],
        "x": x[ci, pj],
        "y": y[ci, pj],
    })
