"""Benchmark: exact walking coverage at city scale, and pandana's ``nearest_pois`` as the reference.

A synthetic city is generated with numpy in a few seconds (the sample-city generator is far
too slow at this size): a jittered street grid with some streets removed (edges ~2-120 m,
every edge at least as long as the straight line between its ends, as real street
geometry is), communities with 3-5 population points each, and outlets of 27 categories
with skewed counts (a few dense categories, a long tail of rare ones).

Stages, each timed on its own (wall s; peak RSS of the process is recorded at the end):

- ``build_graph``   CSR + KD-tree from the node/edge tables (the cached network stage);
- ``compute_access`` the whole coverage call the DAG makes: snapping, one multi-source
  Dijkstra per category, aggregation, ``outlets_within``, the access frame and point flags;
- ``pandana``       ``Network`` + ``precompute`` and ``set_pois`` + ``nearest_pois`` per
  category, on the same nodes/edges/outlets; optionally on a fraction of the categories
  (``--pandana-categories``) when the full run is too slow — the figure is then per category
  and labelled so.

    .venv/bin/python bench/coverage.py --communities 6000 --outlets 1000000 --nodes 400000 --append
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shlex
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
LNG0, LAT0 = 105.72, 34.58        # Tianshui
M_PER_DEG_LAT = 111_320.0         # as lifecircle.ingest.locate.local_xy
SPACING_M = 60.0                  # grid pitch; jitter +-29 m gives edges of ~2-120 m
JITTER_M = 29.0
REMOVED_EDGE_SHARE = 0.10
WALK_M_PER_MIN = 80.0
WALK_MINUTES = [5, 15, 8, 15, 8, 15, 8, 8, 15, 8, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 8, 5]


def _lnglat(x, y):
    return (LNG0 + np.asarray(x) / (M_PER_DEG_LAT * math.cos(math.radians(LAT0))),
            LAT0 + np.asarray(y) / M_PER_DEG_LAT)


def synthetic_city(n_nodes: int, n_communities: int, n_outlets: int, n_categories: int = 27, seed: int = 7):
    """(nodes, edges, communities, points, outlets, categories) frames as the pipeline reads them."""
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_nodes))
    k = np.arange(n_nodes)
    ix, iy = k // side, k % side
    xy = np.column_stack([ix, iy]) * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, (n_nodes, 2))
    right = k[(iy < side - 1) & (k + 1 < n_nodes)]
    up = k[k + side < n_nodes]
    u = np.concatenate([right, up])
    v = np.concatenate([right + 1, up + side])
    keep = rng.random(len(u)) >= REMOVED_EDGE_SHARE
    u, v = u[keep], v[keep]
    # street geometry is never shorter than the straight line: bend factor 1.00-1.08
    length = np.hypot(*(xy[u] - xy[v]).T) * rng.uniform(1.0, 1.08, len(u))
    lng, lat = _lnglat(xy[:, 0], xy[:, 1])
    nodes = pd.DataFrame({"node_id": k + 1, "lng": lng, "lat": lat})
    edges = pd.DataFrame({"u": u + 1, "v": v + 1, "length_m": length})

    extent = xy.max(axis=0)
    c_xy = rng.uniform(0, 1, (n_communities, 2)) * extent
    codes = np.char.add("C", np.arange(n_communities).astype(str))
    c_lng, c_lat = _lnglat(c_xy[:, 0], c_xy[:, 1])
    communities = pd.DataFrame({"community_code": codes, "lng": c_lng, "lat": c_lat})
    per = rng.integers(3, 6, n_communities)
    owner = np.repeat(np.arange(n_communities), per)
    r = 150 * np.sqrt(rng.random(len(owner)))
    a = rng.random(len(owner)) * 2 * np.pi
    p_lng, p_lat = _lnglat(c_xy[owner, 0] + r * np.cos(a), c_xy[owner, 1] + r * np.sin(a))
    points = pd.DataFrame({"point_id": np.char.add("P", np.arange(len(owner)).astype(str)),
                           "community_code": codes[owner], "lng": p_lng, "lat": p_lat,
                           "population": rng.integers(50, 2000, len(owner)).astype(float)})

    cat_codes = np.array([f"cat{i:02d}" for i in range(n_categories)])
    weight = 1.0 / (np.arange(n_categories) + 1.0)        # Zipf: cat00 dense ... cat26 rare
    cat_of = rng.choice(n_categories, n_outlets, p=weight / weight.sum())
    o_xy = rng.uniform(0, 1, (n_outlets, 2)) * extent
    o_lng, o_lat = _lnglat(o_xy[:, 0], o_xy[:, 1])
    outlets = pd.DataFrame({"category_code": cat_codes[cat_of], "lng": o_lng, "lat": o_lat})
    minutes = np.resize(np.array(WALK_MINUTES), n_categories)
    categories = pd.DataFrame({"category_code": cat_codes, "threshold_m": minutes * WALK_M_PER_MIN,
                               "required_for_coverage": np.arange(n_categories) < 13})
    return nodes, edges, communities, points, outlets, categories


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_mib() -> tuple[float, float]:
    """(peak RSS of this process, of its largest child) in MiB."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def timed(label: str, fn, rows: list):
    """Run ``fn``, append (label, wall s, cpu s incl. worker processes) and return its value."""
    wall, cpu = time.perf_counter(), _cpu_s()
    out = fn()
    row = (label, time.perf_counter() - wall, _cpu_s() - cpu)
    rows.append(row)
    print(f"{label}: wall {row[1]:.2f} s, cpu {row[2]:.2f} s, peak {peak_mib()[0]:.0f} MiB", flush=True)
    return out


def run_ours(city, rows: list, info: dict) -> None:
    """The DAG's call end to end, then its three steps one by one (same functions)."""
    from lifecircle.coverage import access
    from lifecircle.coverage.network import build_graph

    nodes, edges, communities, points, outlets, categories = city
    graph = timed("build_graph (cached network stage)", lambda: build_graph(nodes, edges), rows)
    graph.detour_floor  # noqa: B018 - part of the network stage, computed once per graph
    result, flags = timed("**compute_access** (what the DAG runs)", lambda: access.compute_access(
        communities, points, outlets, categories, graph, walking_speed=WALK_M_PER_MIN, detour_factor=1.3), rows)
    cats = categories["category_code"].tolist()
    thr = categories["threshold_m"].to_numpy(float)
    limit = access.REPORT_CAP_FACTOR * float(thr.max())
    oc = access.category_of_outlets(outlets, cats)
    dist, snapped = timed("  step 1: snap + nearest outlet per category x point", lambda: access.network_distances(
        graph, points, outlets, oc, len(cats), limit), rows)
    counts = timed("  step 2: outlets_within (centroid searches)", lambda: access.network_outlets_within(
        graph, communities, snapped, thr), rows)
    again = timed("  step 3: aggregate + frame", lambda: access.aggregate(
        communities, points, cats, thr, np.where(dist > limit, np.inf, dist), counts,
        walking_speed=WALK_M_PER_MIN, presence_share=0.5, method="network"), rows)
    pd.testing.assert_frame_equal(again, result)
    info.update(access_rows=len(result), present_share=round(float(result["present"].mean()), 3),
                points_covered_share=round(float(flags["covered_all"].mean()), 3), peak_mib_ours=peak_mib())


def run_pandana(city, rows: list, info: dict, n_categories: int | None) -> None:
    """pandana on the same network (node coordinates in the same local metres, the same
    edge lengths) and the same outlets, to the same 2 x largest-threshold cap."""
    import pandana

    from lifecircle.ingest.locate import local_xy

    nodes, edges, communities, points, outlets, categories = city
    lat0 = float(nodes["lat"].mean())
    xy = local_xy(nodes["lng"], nodes["lat"], lat0)
    node_ids = nodes["node_id"].to_numpy()
    limit = 2 * float(categories["threshold_m"].max())
    net = timed("pandana Network (contraction hierarchies)", lambda: pandana.Network(
        pd.Series(xy[:, 0], index=node_ids), pd.Series(xy[:, 1], index=node_ids),
        edges["u"], edges["v"], edges[["length_m"]], twoway=True), rows)
    timed(f"pandana precompute({limit:.0f})", lambda: net.precompute(limit), rows)
    cats = list(categories["category_code"])[: n_categories or None]
    o_xy = local_xy(outlets["lng"], outlets["lat"], lat0)
    sel = {c: (outlets["category_code"] == c).to_numpy() for c in cats}

    def set_pois():
        for c in cats:
            net.set_pois(c, limit, 1, pd.Series(o_xy[sel[c], 0]), pd.Series(o_xy[sel[c], 1]))

    def nearest():
        for c in cats:
            net.nearest_pois(limit, c, num_pois=1)
    timed(f"pandana set_pois x {len(cats)} categories", set_pois, rows)
    timed(f"pandana nearest_pois x {len(cats)} categories", nearest, rows)
    info.update(pandana_categories=len(cats), peak_mib_pandana=peak_mib())


def append_results(args, rows: list, info: dict, city) -> None:
    nodes, edges, communities, points, outlets, _ = city
    cmd = "bench/coverage.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"\n### {date.today().isoformat()} — exact coverage{' vs pandana' if args.pandana else ''}: "
             f"`.venv/bin/python {cmd}`\n",
             f"machine: 2 cores, CPython {platform.python_version()}, load average after the run {load} "
             f"(other sessions' test suites share the 2 cores); synthetic city, seed {args.seed}: {len(nodes)} nodes, "
             f"{len(edges)} edges, {len(communities)} communities, {len(points)} population points, "
             f"{len(outlets)} outlets, {args.categories} categories (thresholds 400/640/1200 m, report cap 2400 m)\n",
             "| stage | wall s | cpu s (all processes) |", "|---|---|---|"]
    lines += [f"| {label} | {wall:.2f} | {cpu:.2f} |" for label, wall, cpu in rows]
    lines.append("")
    lines.append("peak RSS MiB (this process, largest worker): " + ", ".join(
        f"{k.removeprefix('peak_mib_')} {v[0]:.0f} / {v[1]:.0f}" for k, v in info.items() if k.startswith("peak_mib")))
    lines.append("; ".join(f"{k} {v}" for k, v in info.items() if not k.startswith("peak_mib")) + "\n")
    with open(HERE / "results.md", "a") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None) -> tuple[list, dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communities", type=int, default=6000)
    ap.add_argument("--outlets", type=int, default=1_000_000)
    ap.add_argument("--nodes", type=int, default=400_000)
    ap.add_argument("--categories", type=int, default=27)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pandana", action="store_true", help="also run the pandana reference")
    ap.add_argument("--pandana-categories", type=int, default=None, help="pandana on the first N categories only")
    ap.add_argument("--no-ours", action="store_true", help="pandana only")
    ap.add_argument("--append", action="store_true", help="append the figures to bench/results.md")
    args = ap.parse_args(argv)
    rows: list = []
    info: dict = {}
    city = timed("generate (not part of coverage)", lambda: synthetic_city(
        args.nodes, args.communities, args.outlets, args.categories, args.seed), rows)
    if not args.no_ours:
        run_ours(city, rows, info)
    if args.pandana:
        run_pandana(city, rows, info, args.pandana_categories)
    if args.append:
        append_results(args, rows, info, city)
    return rows, info


if __name__ == "__main__":
    main()
