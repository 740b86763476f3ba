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


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn, results: dict):
    t = time.perf_counter()
    out = fn()
    results[label] = time.perf_counter() - t
    print(f"{label}: {results[label]:.2f} s (peak {peak_mib():.0f} MiB)", flush=True)
    return out


def run_ours(city, results: dict):
    from lifecircle.coverage.access import compute_access
    from lifecircle.coverage.network import build_graph

    nodes, edges, communities, points, outlets, categories = city
    graph = timed("build_graph", lambda: build_graph(nodes, edges), results)
    access, flags = timed("compute_access", lambda: compute_access(
        communities, points, outlets, categories, graph, walking_speed=WALK_M_PER_MIN, detour_factor=1.3), results)
    results["peak_mib_ours"] = peak_mib()
    results["access_rows"] = len(access)
    results["present_share"] = float(access["present"].mean())
    results["covered_points_share"] = float(flags["covered_all"].mean())
    return graph, access


def run_pandana(city, graph, results: dict, n_categories: int | None):
    """pandana on the same network: node coordinates in local metres, the same edge lengths."""
    import pandana

    from lifecircle.ingest.locate import local_xy

    nodes, edges, communities, points, outlets, categories = city
    xy = local_xy(nodes["lng"], nodes["lat"], graph.lat0)
    node_ids = nodes["node_id"].to_numpy()
    limit = 2 * float(categories["threshold_m"].max())
    net = timed("pandana_network", lambda: pandana.Network(
        pd.Series(xy[:, 0], index=node_ids), pd.Series(xy[:, 1], index=node_ids),
        edges["u"], edges["v"], edges[["length_m"]], twoway=True), results)
    timed("pandana_precompute", lambda: net.precompute(limit), results)
    cats = list(categories["category_code"])[: n_categories or None]
    results["pandana_categories"] = len(cats)
    o_xy = local_xy(outlets["lng"], outlets["lat"], graph.lat0)

    def queries():
        for cat in cats:
            sel = (outlets["category_code"] == cat).to_numpy()
            net.set_pois(cat, limit, 1, pd.Series(o_xy[sel, 0]), pd.Series(o_xy[sel, 1]))
            net.nearest_pois(limit, cat, num_pois=1)
    timed("pandana_pois", queries, results)
    results["peak_mib_pandana"] = peak_mib()


def append_results(args, results: dict, city) -> None:
    nodes, edges, communities, points, outlets, _ = city
    cmd = "bench/coverage.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [f"\n### {date.today().isoformat()} — exact coverage vs pandana: `.venv/bin/python {cmd}`\n",
             f"machine: 2 cores, CPython {platform.python_version()}; synthetic city (seed {args.seed}): "
             f"{len(nodes)} nodes, {len(edges)} edges, {len(communities)} communities, {len(points)} population "
             f"points, {len(outlets)} outlets, {args.categories} categories (thresholds 400/640/1200 m)\n",
             "| stage | wall s | details |", "|---|---|---|"]
    for key in ("generate", "build_graph", "compute_access", "pandana_network", "pandana_precompute", "pandana_pois"):
        if key in results:
            lines.append(f"| {key} | {results[key]:.2f} | |")
    lines.append(f"\npeak RSS {results.get('peak_mib_ours', 0):.0f} MiB after ours; "
                 f"{results.get('peak_mib_pandana', 0):.0f} MiB after pandana (same process).\n")
    with open(HERE / "results.md", "a") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communities", type=int, default=6000)
    ap.add_argument("--outlets", type=int, default=1_000_000)
    ap.add_argument("--nodes", type=int, default=400_000)
    ap.add_argument("--categories", type=int, default=27)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pandana", action="store_true", help="also run the pandana reference")
    ap.add_argument("--pandana-categories", type=int, default=None, help="pandana on the first N categories only")
    ap.add_argument("--append", action="store_true", help="append the figures to bench/results.md")
    args = ap.parse_args(argv)
    results: dict = {}
    city = timed("generate", lambda: synthetic_city(args.nodes, args.communities, args.outlets,
                                                    args.categories, args.seed), results)
    graph, _ = run_ours(city, results)
    if args.pandana:
        run_pandana(city, graph, results, args.pandana_categories)
    if args.append:
        append_results(args, results, city)
    return results


if __name__ == "__main__":
    main()
