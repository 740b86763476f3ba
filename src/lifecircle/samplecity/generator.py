"""Deterministic sample-city generator: one call writes the whole sample-city folder.

Why: every stage (ingest, validation, coverage, report) and the fake registry/AMap
servers need a city whose truth is known. Everything derives from ``seed`` and the
inputs: each stage draws from its own ``numpy`` generator seeded with
``(seed, stage)``, so changing one stage does not reshuffle the others; nothing reads
the clock (``generated_at`` is ``as_of`` at midnight, Beijing time); files are written
with fixed formats, so two runs give byte-identical files.

Layout (docs/architecture.md, "Sample city"), plus ``amap/geocode.jsonl`` (the fake
geocoder's address table, :mod:`lifecircle.samplecity.geocodes`) and three documented extras:
``truth/links.csv`` (outlet -> true USCC, AMap id), ``truth/dirt.csv`` (every spoiled
line) and ``reference/`` (divisions, circles and members of the generated city, which a
bench city has nowhere else).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from lifecircle.geo import wgs84_to_gcj02
from lifecircle.samplecity.branding import assign_brands, load_brand_table, shop_names
from lifecircle.samplecity.geography import (
    Geography,
    bench_geography,
    load_profile,
    population_points,
    tianshui_geography,
)
from lifecircle.samplecity.network import Network, build_network
from lifecircle.samplecity.outlets import generate_outlets
from lifecircle.samplecity.geocodes import build_geocodes
from lifecircle.samplecity.pois import build_pois
from lifecircle.samplecity.registrations import build_registrations
from lifecircle.samplecity.csvout import write_csv
from lifecircle.samplecity.jsonl import write_lines

log = logging.getLogger(__name__)

GENERATOR_VERSION = 2  # 2: amap/geocode.jsonl (the fake geocoder table)
DEFAULT_AS_OF = date(2026, 10, 31)
INDEPENDENT_NAME_FORMS = (0.45, 0.10, 0.45)  # <district><name>, <city><name>有限公司, <name>


def stage_rng(seed: int, stage: str) -> np.random.Generator:
    """An independent generator per stage, stable across Python runs (crc32, not hash())."""
    return np.random.default_rng([int(seed), zlib.crc32(stage.encode("utf-8"))])


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _enrich(o: dict[str, np.ndarray], geo: Geography, rng) -> dict[str, np.ndarray]:
    """Attach division names, brands, shop/registration names and the address text."""
    comm = geo.communities
    ci = o["community_idx"]
    s_names = dict(zip(geo.streets["street_code"], geo.streets["name"]))
    d_names = dict(zip(geo.districts["district_code"], geo.districts["name"]))
    c_code = np.asarray(comm["community_code"], dtype=object)
    c_name = np.asarray(comm["name"], dtype=object)
    c_street = np.asarray(comm["street_code"], dtype=object)
    c_district = np.asarray(comm["district_code"], dtype=object)
    c_sname = np.array([s_names[s] for s in c_street], dtype=object)
    c_dname = np.array([d_names[d] for d in c_district], dtype=object)
    c_short = np.array([x.removesuffix("社区") for x in c_name], dtype=object)
    o["community_code"], o["community_name"] = c_code[ci], c_name[ci]
    o["street_code"], o["district_code"] = c_street[ci], c_district[ci]
    o["street_name"], o["district_name"] = c_sname[ci], c_dname[ci]
    brands = load_brand_table()
    cats = o["category_code"]
    brand, disp, chain = assign_brands(cats, brands, rng)
    o["brand"], o["brand_disp"], o["chain"] = brand, disp, chain
    n = len(cats)
    place = np.where(rng.uniform(size=n) < 0.6, c_short[ci], o["road"]).astype(object)
    o["shop_name"] = shop_names(cats, disp, chain, place, brands, rng)
    form = rng.choice(3, size=n, p=INDEPENDENT_NAME_FORMS)
    city_short = geo.profile.name.removesuffix("市")
    reg = o["shop_name"].copy()
    m = ~chain & (form == 0)
    reg[m] = o["district_name"][m] + reg[m]
    m = ~chain & (form == 1)
    reg[m] = city_short + reg[m] + "有限公司"
    o["reg_name"] = reg
    p = geo.profile
    o["address"] = (p.province + p.name + o["district_name"] + o["street_name"] + o["community_name"]
                    + o["road"] + o["house_no"].astype(str).astype(object) + "号")
    return o


def _bbox(*pairs) -> list[float]:
    lng = np.concatenate([np.asarray(a, dtype=float).ravel() for a, _ in pairs])
    lat = np.concatenate([np.asarray(b, dtype=float).ravel() for _, b in pairs])
    ok = ~np.isnan(lng) & ~np.isnan(lat)
    return [float(lng[ok].min()), float(lat[ok].min()), float(lng[ok].max()), float(lat[ok].max())]


def _gcj_bbox(wgs: list[float], pois) -> list[float]:
    """GCJ-02 box of the WGS-84 box: its edges densely transformed, plus every POI."""
    t = np.linspace(0.0, 1.0, 201)
    x0, y0, x1, y1 = wgs
    xs = np.concatenate([x0 + t * (x1 - x0), np.full_like(t, x1), x1 - t * (x1 - x0), np.full_like(t, x0)])
    ys = np.concatenate([np.full_like(t, y0), y0 + t * (y1 - y0), np.full_like(t, y1), y1 - t * (y1 - y0)])
    gx, gy = wgs84_to_gcj02(xs, ys)
    return _bbox((gx, gy), (pois.gcj_lng, pois.gcj_lat))


def _uploads(out: Path, geo: Geography, as_of: date, seed: int) -> dict:
    try:
        from lifecircle.surveys.samples import make_sample_uploads
    except ImportError as exc:
        log.warning("uploads skipped: lifecircle.surveys.samples.make_sample_uploads not importable (%s)", exc)
        return {"status": "skipped", "reason": f"make_sample_uploads not importable: {exc}", "files": []}
    names = dict(zip(geo.communities["community_code"], geo.communities["name"]))
    circles = [{"circle_code": c["circle_code"], "name": c["name"],
                "communities": [names[m] for m in c["members"] if m in names]} for c in geo.circles]
    up = out / "uploads"
    up.mkdir(parents=True, exist_ok=True)
    try:
        paths = make_sample_uploads(up, circles, as_of, seed)
    except ValueError as exc:  # e.g. too few circles for its sample set: not our city's fault
        log.warning("uploads skipped: make_sample_uploads refused this city (%s)", exc)
        return {"status": "skipped", "reason": f"make_sample_uploads: {exc}", "files": []}
    files = sorted(str(Path(p).resolve().relative_to(out.resolve())) for p in paths)
    log.info("uploads: %d files from make_sample_uploads", len(files))
    return {"status": "written", "files": files}


def _reference_frames(geo: Geography) -> dict[str, pd.DataFrame]:
    p = geo.profile
    div = pd.concat([
        pd.DataFrame([{"code": p.adcode, "name": p.name, "level": "city", "parent_code": p.province_code}]),
        geo.districts.assign(level="district", parent_code=p.adcode).rename(columns={"district_code": "code"}),
        geo.streets.assign(level="street").rename(columns={"street_code": "code", "district_code": "parent_code"}),
    ])[["code", "name", "level", "parent_code"]]
    circles = pd.DataFrame([{k: c[k] for k in ("circle_code", "name", "anchor_community", "build_year", "batch")}
                            for c in geo.circles],
                           columns=["circle_code", "name", "anchor_community", "build_year", "batch"])
    members = pd.DataFrame([{"circle_code": c["circle_code"], "community_code": m,
                             "role": "anchor" if m == c["anchor_community"] else "member"}
                            for c in geo.circles for m in c["members"]],
                           columns=["circle_code", "community_code", "role"])
    return {"divisions.csv": div, "circles.csv": circles, "circle_members.csv": members}


def generate_city(out_dir, seed: int = 2023, city: str = "tianshui", n_communities: int | None = None,
                  n_outlets: int = 20000, as_of: date = DEFAULT_AS_OF, with_uploads: bool = True) -> dict:
    """Write the sample city to ``out_dir`` and return its manifest (a dict).

    ``n_communities=None`` builds the real city from ``config/cities/<city>/``; a number
    builds a synthetic city of that many communities (benchmarks). ``with_uploads=False``
    skips the annex-5 uploads (written by ``lifecircle.surveys.samples``).
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    profile = load_profile(city)
    if n_communities is None:
        geo = tianshui_geography(profile, stage_rng(seed, "geography"))
    else:
        geo = bench_geography(profile, n_communities, stage_rng(seed, "geography"))
    points = population_points(geo, stage_rng(seed, "population"))
    net: Network = build_network(geo, stage_rng(seed, "network"))
    t_net = time.perf_counter()
    from lifecircle import refdata

    categories = refdata.load_categories()
    outlets = generate_outlets(geo, net, categories, int(n_outlets), as_of, stage_rng(seed, "outlets"))
    o = _enrich(outlets.cols, geo, stage_rng(seed, "names"))
    # each JSONL file is written as soon as it is built and its lines freed (peak memory)
    reg = build_registrations(o, as_of, stage_rng(seed, "registry"))
    (out / "registry").mkdir(exist_ok=True)
    write_lines(out / "registry" / "registrations.jsonl", reg.lines)
    reg.lines = []
    pois = build_pois(o, geo.profile, stage_rng(seed, "amap"))
    (out / "amap").mkdir(exist_ok=True)
    write_lines(out / "amap" / "pois.jsonl", pois.lines)
    pois.lines = []
    geocodes = build_geocodes(o, geo.profile, stage_rng(seed, "geocode"))
    write_lines(out / "amap" / "geocode.jsonl", geocodes.lines)
    geocodes.lines = []
    t_gen = time.perf_counter()

    # ---- write
    comm = geo.communities
    write_csv(out / "communities.csv", {
        "community_code": comm["community_code"], "name": comm["name"],
        "street_code": comm["street_code"], "district_code": comm["district_code"],
        "synthetic": comm["synthetic"].astype(bool), "lng": comm["lng"], "lat": comm["lat"],
        "population": comm["population"], "households": comm["households"],
    })
    write_csv(out / "population_points.csv",
              {c: points[c] for c in ["point_id", "community_code", "lng", "lat", "population"]})
    write_csv(out / "network" / "nodes.csv", {"node_id": np.arange(net.n_nodes), "lng": net.lng, "lat": net.lat})
    write_csv(out / "network" / "edges.csv", {"u": net.u, "v": net.v, "length_m": net.length_m})
    write_csv(out / "truth" / "outlets.csv", {
        "outlet_id": o["outlet_id"], "category_code": o["category_code"], "lng": o["lng"], "lat": o["lat"],
        "open_date": o["open_date"], "close_date": o["close_date"], "brand": o["brand"], "chain": o["chain"],
    })
    write_csv(out / "truth" / "links.csv", {"outlet_id": o["outlet_id"], "uscc": reg.uscc.astype(object),
                                             "poi_id": pois.poi_id, "community_code": o["community_code"]})
    dirt = pd.concat([reg.dirt, pois.dirt, geocodes.dirt], ignore_index=True)
    write_csv(out / "truth" / "dirt.csv", {c: dirt[c] for c in dirt.columns})
    for name, df in _reference_frames(geo).items():
        write_csv(out / "reference" / name, {c: df[c] for c in df.columns})
    uploads = _uploads(out, geo, as_of, seed) if with_uploads else {"status": "disabled", "files": []}
    t_write = time.perf_counter()

    # ---- manifest
    wgs = _bbox((net.lng, net.lat), (comm["lng"], comm["lat"]), (points["lng"], points["lat"]),
                (o["lng"], o["lat"]))
    n_out = len(o["outlet_id"])
    closed = int((~np.isnat(o["close_date"])).sum())
    by_cat = Counter(o["category_code"].tolist())
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel != "manifest.json":
            files[rel] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    manifest = {
        "generator": "lifecircle.samplecity", "generator_version": GENERATOR_VERSION,
        "seed": int(seed), "city": city, "mode": geo.mode, "as_of": as_of.isoformat(),
        "generated_at": f"{as_of.isoformat()}T00:00:00+08:00",
        "params": {"n_communities": None if n_communities is None else int(n_communities),
                   "n_outlets": int(n_outlets)},
        "crs": {"truth_network_population": "WGS-84 (EPSG:4326)", "amap": "GCJ-02"},
        "counts": {
            "districts": int(len(geo.districts)), "streets": int(len(geo.streets)),
            "communities": int(len(comm)), "circles": int(len(geo.circles)),
            "population": int(comm["population"].sum()), "households": int(comm["households"].sum()),
            "population_points": int(len(points)), "nodes": int(net.n_nodes), "edges": int(net.n_edges),
            "outlets": n_out, "outlets_closed": closed, "outlets_chain": int(o["chain"].sum()),
            "registry_lines": reg.counts["lines"], "amap_lines": pois.counts["lines"],
            "geocode_lines": geocodes.counts["lines"],
        },
        "outlets": {
            "by_category": {k: int(by_cat[k]) for k in sorted(by_cat)},
            "chain_share": round(float(o["chain"].mean()), 4) if n_out else 0.0,
            "closed_share": round(closed / n_out, 4) if n_out else 0.0,
            "gaps": outlets.stats,
        },
        "registry": {k: v for k, v in reg.counts.items() if k != "dirt"},
        "amap": {k: v for k, v in pois.counts.items() if k != "dirt"},
        "geocode": {k: v for k, v in geocodes.counts.items() if k != "dirt"},
        "dirt": {"registry": reg.counts["dirt"], "amap": pois.counts["dirt"], "geocode": geocodes.counts["dirt"]},
        "bbox": {"wgs84": wgs, "gcj02": _gcj_bbox(wgs, pois)},
        "uploads": uploads,
        "files": files,
    }
    with (out / "manifest.json").open("w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    log.info("sample city %s: %d communities, %d nodes, %d outlets; network %.1fs, outlets+registry+amap %.1fs, other files %.1fs",
             out, len(comm), net.n_nodes, n_out, t_net - t0, t_gen - t_net, t_write - t_gen)
    return manifest
