"""Benchmark: build and clean a walking network from a synthetic city-size ``.osm.pbf``.

The extract is a street grid (``--nodes`` nodes, 40 m pitch) written with pyosmium's
SimpleWriter (not timed): residential columns, rows cut into ways of 20 segments, every
10th row primary, every 37th a motorway (excluded), every 5th row mapping only every other
node (80 m edges, so the splitter has work), plus a detached 10 x 10 island (dropped by the
largest-component step). Each stage runs in a fresh process, so its peak RSS is its own:

- ``read``        pyosmium read of the walkable ways (``osm_network.read_pbf``);
- ``clean``       read + segments, duplicates, largest component, split (``osm_network.clean``);
- ``load (miss)`` ``osm_network.load_network`` with an empty cache: hash, read, clean, write parquet;
- ``load (hit)``  the same call again: hash + parquet read.

    .venv/bin/python bench/osm_network.py --nodes 400000 --append
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
LNG0, LAT0 = 105.62, 34.50
PITCH_M = 40.0
WAY_SEGMENTS = 20


def write_grid_pbf(path: Path, n_nodes: int) -> int:
    """A ``side x side`` grid (side = ceil(sqrt(n_nodes))) plus a 10 x 10 island; node count."""
    import osmium
    from osmium.osm import mutable

    side = math.ceil(math.sqrt(n_nodes))
    dlat = PITCH_M / 111_195.0
    dlng = dlat / math.cos(math.radians(LAT0))
    node_id = lambda r, c: 1 + r * side + c                      # noqa: E731
    island = side * side + 1
    writer = osmium.SimpleWriter(str(path))
    way_id = 1
    try:
        for r in range(side):
            for c in range(side):
                writer.add_node(mutable.Node(id=node_id(r, c), location=(LNG0 + c * dlng, LAT0 + r * dlat)))
        for k in range(100):   # island 5 km east
            writer.add_node(mutable.Node(id=island + k, location=(LNG0 + (side + 125 + k % 10) * dlng,
                                                                  LAT0 + (k // 10) * dlat)))

        def add_way(refs, tags):
            nonlocal way_id
            writer.add_way(mutable.Way(id=way_id, nodes=refs, tags=tags))
            way_id += 1

        for c in range(side):   # columns
            for start in range(0, side - 1, WAY_SEGMENTS):
                add_way([node_id(r, c) for r in range(start, min(side, start + WAY_SEGMENTS + 1))],
                        {"highway": "residential"})
        for r in range(side):   # rows
            tags = {"highway": "motorway" if r % 37 == 0 else "primary" if r % 10 == 0 else "service"}
            cols = range(0, side, 2) if r % 5 == 0 else range(side)
            cols = list(cols)
            for start in range(0, len(cols) - 1, WAY_SEGMENTS):
                add_way([node_id(r, c) for c in cols[start:start + WAY_SEGMENTS + 1]], tags)
        for r in range(10):
            add_way([island + r * 10 + c for c in range(10)], {"highway": "footway"})
    finally:
        writer.close()
    return side * side + 100


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(stage: str, pbf: Path, cache: Path) -> dict:
    """One stage in this process: wall s, peak MiB and a few counts."""
    from lifecircle.coverage import osm_network as osm

    rules = osm.load_rules()
    start = time.perf_counter()
    if stage == "read":
        ways = osm.read_pbf(pbf, rules)
        details = {"way_node_refs": len(ways.ref), "ways": ways.ways_walkable}
    elif stage == "clean":
        _, _, summary = osm.clean(osm.read_pbf(pbf, rules))
        details = {k: summary[k] for k in ("nodes", "edges", "dropped_nodes", "split_edges", "added_nodes")}
    else:
        _, _, summary = osm.load_network(pbf, cache=cache)
        details = {"cache": summary["cache"], "nodes": summary["nodes"], "edges": summary["edges"]}
    return {"stage": stage, "wall_s": time.perf_counter() - start, "peak_mib": _peak_mib(), **details}


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=400_000)
    ap.add_argument("--append", action="store_true", help="append the figures to bench/results.md")
    ap.add_argument("--measure", nargs=3, metavar=("STAGE", "PBF", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), Path(args.measure[2]))))
        return []
    with tempfile.TemporaryDirectory(prefix="osm_bench_") as tmp:
        pbf, cache = Path(tmp) / "grid.osm.pbf", Path(tmp) / "cache"
        start = time.perf_counter()
        written = write_grid_pbf(pbf, args.nodes)
        write_s = time.perf_counter() - start
        results = []
        for stage in ("read", "clean", "load (miss)", "load (hit)"):
            out = subprocess.run([sys.executable, __file__, "--measure", stage, str(pbf), str(cache)],
                                 check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            print(results[-1], flush=True)
        mib = pbf.stat().st_size / 2**20
    if args.append:
        lines = [f"\n### {date.today()} — walking network from OSM: "
                 f"`{shlex.join(['.venv/bin/python', 'bench/osm_network.py', *(argv or sys.argv[1:])])}`\n",
                 f"machine: 2 cores, CPython {platform.python_version()}; synthetic grid extract, {written} nodes, "
                 f"{mib:.1f} MiB pbf (written in {write_s:.1f} s, not timed); each stage a fresh process\n",
                 "| stage | wall s | peak MiB | details |", "|---|---|---|---|"]
        for r in results:
            details = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("stage", "wall_s", "peak_mib"))
            lines.append(f"| {r['stage']} | {r['wall_s']:.2f} | {r['peak_mib']:.0f} | {details} |")
        with open(HERE / "results.md", "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    main()
