"""The fake AMap geocoder's address table (``amap/geocode.jsonl``) for the sample city.

Why: registrations carry only an address; the geocoding stage turns it into coordinates
through AMap, and its tests need to know what the truth is. One line per distinct
registered address (the first outlet with it): the outlet's own GCJ-02 position at level
门牌号 (6 decimals, as AMap sends), except a counted, seeded share the geocoder cannot
place precisely — level 道路 (a point 80-250 m away along "the road") or 区县 (the
district centre) — and a share it does not find at all (``location`` null). Every such
address is listed in ``truth/dirt.csv`` (source ``geocode``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lifecircle.geo import wgs84_to_gcj02
from lifecircle.samplecity.jsonl import Constant, Raw, encode_records

SHARES = {"not_found": 0.01, "coarse_road": 0.02, "coarse_district": 0.005}
MIN_FEW = 2  # each kind at least this often in a city of >= 100 addresses
LEVEL = {"coarse_road": "道路", "coarse_district": "区县"}
M_PER_DEG_LAT = 111_320.0


@dataclass
class GeocodeOutput:
    lines: list[str]
    dirt: pd.DataFrame  # source, line_no, kind, detail, outlet_id
    counts: dict


def _kinds(n: int, rng: np.random.Generator) -> np.ndarray:
    kind = np.full(n, "", dtype=object)
    order = rng.permutation(n)
    start = 0
    for k, share in SHARES.items():
        size = int(round(share * n))
        if n >= 100:
            size = max(MIN_FEW, size)
        size = min(size, n - start)
        kind[order[start:start + size]] = k
        start += size
    return kind


def build_geocodes(o: dict[str, np.ndarray], profile, rng: np.random.Generator) -> GeocodeOutput:
    """Geocode table lines for outlets ``o`` (needs outlet_id, address, lng, lat, road,
    house_no, district_code, district_name)."""
    addr = pd.Series(o["address"], dtype=object)
    first = np.flatnonzero(~addr.duplicated(keep="first").to_numpy())
    n = len(first)
    kind = _kinds(n, rng)
    lng = np.asarray(o["lng"], dtype=float)[first].copy()
    lat = np.asarray(o["lat"], dtype=float)[first].copy()
    road = kind == "coarse_road"
    dist = rng.uniform(80.0, 250.0, size=n)
    ang = rng.uniform(0.0, 2 * np.pi, size=n)
    lng[road] += dist[road] * np.cos(ang[road]) / (M_PER_DEG_LAT * np.cos(np.radians(lat[road])))
    lat[road] += dist[road] * np.sin(ang[road]) / M_PER_DEG_LAT
    district = np.asarray(o["district_code"], dtype=object)[first]
    centres = {d: profile.district_centres.get(d) for d in set(district.tolist())}
    all_lng, all_lat = np.asarray(o["lng"], dtype=float), np.asarray(o["lat"], dtype=float)
    for d, c in centres.items():  # a district without a known centre: its outlets' mean
        if c is None:
            m = np.asarray(o["district_code"], dtype=object) == d
            centres[d] = (float(all_lng[m].mean()), float(all_lat[m].mean()))
    coarse = kind == "coarse_district"
    lng[coarse] = [centres[d][0] for d in district[coarse]]
    lat[coarse] = [centres[d][1] for d in district[coarse]]
    glng, glat = wgs84_to_gcj02(lng, lat)
    glng, glat = np.round(glng, 6), np.round(glat, 6)
    missing = kind == "not_found"
    location = np.array([f'"{a:.6f},{b:.6f}"' for a, b in zip(glng, glat)], dtype=object)
    location[missing] = "null"
    level = np.where(missing, "null", np.where(road, '"道路"', np.where(coarse, '"区县"', '"门牌号"'))).astype(object)
    d_name = np.asarray(o["district_name"], dtype=object)[first]
    road_name = np.asarray(o["road"], dtype=object)[first]
    number = np.asarray(o["house_no"])[first].astype(str).astype(object) + "号"
    head = profile.province + profile.name + d_name
    fmt = np.where(coarse, head, np.where(road, head + road_name, head + road_name + number)).astype(object)
    street_tok = np.where(coarse, "[]", '"' + road_name + '"').astype(object)
    number_tok = np.where(coarse | road, "[]", '"' + number + '"').astype(object)
    lines = encode_records({
        "address": addr.to_numpy()[first],
        "location": Raw(location),
        "level": Raw(level),
        "formatted_address": fmt,
        "country": Constant("中国"),
        "province": Constant(profile.province),
        "citycode": Constant(profile.citycode),
        "city": Constant(profile.name),
        "district": d_name,
        "adcode": district,
        "street": Raw(street_tok),
        "number": Raw(number_tok),
        "_outlet_id": np.asarray(o["outlet_id"], dtype=object)[first],
    })
    flagged = np.flatnonzero(kind != "")
    dirt = pd.DataFrame({
        "source": "geocode", "line_no": flagged + 1, "kind": kind[flagged],
        "detail": [LEVEL.get(k, "") for k in kind[flagged]],
        "outlet_id": np.asarray(o["outlet_id"], dtype=object)[first][flagged],
    }, columns=["source", "line_no", "kind", "detail", "outlet_id"])
    counts = {"lines": len(lines), "addresses_shared": int(len(addr) - n),
              "dirt": {k: int((kind == k).sum()) for k in SHARES}}
    return GeocodeOutput(lines=lines, dirt=dirt, counts=counts)
