"""Benchmark: 补什么 candidate sites (lifecircle.coverage.candidates.candidate_sites) on a
synthetic city: a street grid of about N nodes (50 m blocks), circles of communities with
population points, and K required categories of which few outlets exist, so most circles
miss most categories. Exact network distances; top-3 greedy per (circle, category).

Measures candidate_sites alone (building the city and the graph are reported apart), wall
time and the process's peak resident memory; prints a markdown section for bench/results.md.

    .venv/bin/python bench/candidates.py --nodes 400000 --circles 300
"""
from __future__ import annotations

import argparse
import math
import platform
import resource
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

LNG0, LAT0, STEP = 105.60, 34.45, 50.0


def city(nodes: int, circles: int, communities: int, points: int, categories: int, outlets: int, seed: int = 3):
    side = int(math.sqrt(nodes))
    m_lng, m_lat = 111_320.0 * math.cos(math.radians(LAT0)), 111_320.0
    ij = np.arange(side * side)
    i, j = ij // side, ij % side
    node_df = pd.DataFrame({"node_id": ij, "lng": LNG0 + j * STEP / m_lng, "lat": LAT0 + i * STEP / m_lat})
    right = ij[j < side - 1]
    up = ij[i < side - 1]
    edges = pd.DataFrame({"u": np.concatenate([right, up]), "v": np.concatenate([right + 1, up + side]),
                          "length_m": STEP})
    rng = np.random.default_rng(seed)
    extent = side * STEP
    # circles: a centre each; communities within 600 m of it; points within 250 m of their community
    rows, members = [], []
    for c in range(circles):
        cx, cy = rng.uniform(1500, extent - 1500, 2)
        for k in range(communities):
            code = f"C{c:04d}K{k:02d}"
            members.append({"circle_code": f"Q{c:04d}", "community_code": code})
            kx, ky = cx + rng.uniform(-600, 600), cy + rng.uniform(-600, 600)
            for p in range(points):
                x, y = kx + rng.uniform(-250, 250), ky + rng.uniform(-250, 250)
                rows.append({"point_id": f"{code}P{p}", "community_code": code, "lng": LNG0 + x / m_lng,
                             "lat": LAT0 + y / m_lat, "population": int(rng.integers(50, 800))})
    cats = [f"cat{k:02d}" for k in range(categories)]
    ox, oy = rng.uniform(0, extent, outlets), rng.uniform(0, extent, outlets)
    outlet_df = pd.DataFrame({"category_code": rng.choice(cats, outlets), "lng": LNG0 + ox / m_lng,
                              "lat": LAT0 + oy / m_lat})
    member_df = pd.DataFrame(members)
    gaps = pd.DataFrame([{"circle_code": q, "category_code": c} for q in member_df["circle_code"].unique() for c in cats])
    thresholds = {c: (400.0, 640.0, 1200.0)[k % 3] for k, c in enumerate(cats)}
    return node_df, edges, pd.DataFrame(rows), member_df, outlet_df, gaps, thresholds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=400_000)
    ap.add_argument("--circles", type=int, default=300)
    ap.add_argument("--communities", type=int, default=10, help="per circle")
    ap.add_argument("--points", type=int, default=5, help="population points per community")
    ap.add_argument("--categories", type=int, default=13, help="required categories (all candidates for gaps)")
    ap.add_argument("--outlets", type=int, default=20_000)
    ap.add_argument("--top-k", type=int, default=3)
    args = ap.parse_args(argv)

    from lifecircle.coverage.candidates import candidate_sites
    from lifecircle.coverage.network import build_graph

    t = time.perf_counter()
    nodes, edges, points, members, outlets, gaps, thresholds = city(
        args.nodes, args.circles, args.communities, args.points, args.categories, args.outlets)
    t_city = time.perf_counter() - t
    t = time.perf_counter()
    graph = build_graph(nodes, edges)
    t_graph = time.perf_counter() - t
    t, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    sites = candidate_sites(gaps, members, points, outlets, thresholds, graph, node_ids=nodes["node_id"].to_numpy(),
                            top_k=args.top_k)
    t_sites = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_sites = after.ru_utime - cpu.ru_utime + after.ru_stime - cpu.ru_stime
    load = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pairs = sites.groupby(["circle_code", "category_code"]).ngroups
    print(f"""
### candidate sites (补什么): `.venv/bin/python bench/candidates.py {shlex.join(sys.argv[1:])}`

machine: 2 cores, CPython {platform.python_version()}; grid {graph.n} nodes / {len(edges)} edges (50 m blocks);
{args.circles} circles x {args.communities} communities x {args.points} points = {len(points)} population points;
{args.categories} categories (thresholds 400/640/1200 m), {len(outlets)} outlets; {len(gaps)} (circle, category) gaps

| stage | wall s | details |
|---|---|---|
| build synthetic city | {t_city:.2f} | not part of the pipeline |
| build graph | {t_graph:.2f} | `network.build_graph` (coverage builds it anyway) |
| **candidate_sites** | **{t_sites:.2f}** | CPU {cpu_sites:.2f} s (load average {load} at the end); {len(sites)} sites for {pairs} (circle, category) pairs with someone to cover, top-{args.top_k} |
| **peak memory** | | {peak:.0f} MiB (process max RSS) |
""")


if __name__ == "__main__":
    main()
