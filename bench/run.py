"""Benchmark: generate a city of a given size and time each stage (wall time, peak memory).

Each stage runs in a fresh process, so its peak resident memory is its own. Results are
appended to bench/results.md with the command line that produced them.

    ./lc bench --communities 6000 --outlets 1000000
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import shlex
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent


def stage_generate(city: Path, args) -> dict:
    from lifecircle.samplecity import generate_city

    s = generate_city(city, seed=args.seed, n_communities=args.communities, n_outlets=args.outlets)
    return {"outlets": args.outlets, "communities": args.communities or 120}


def _jsonl(path: Path):
    import pandas as pd

    return pd.read_json(path, lines=True, dtype=False)


def stage_registrations(city: Path, args) -> dict:
    """Raw registration records -> row rules, categories, brands, community (no database)."""
    import pandas as pd

    from lifecircle.ingest.registration_rules import RAW_FIELDS
    from lifecircle.ingest.registrations import transform

    raw = _jsonl(city / "registry/registrations.jsonl").reindex(columns=list(RAW_FIELDS)).astype("object")
    raw.insert(0, "row_no", range(len(raw)))
    raw.insert(0, "page_no", 1)
    raw.insert(0, "load_id", "bench")
    comms = pd.read_csv(city / "communities.csv", dtype=str)
    valid, quarantined = transform(raw, communities=comms)
    return {"rows": len(raw), "valid": len(valid), "quarantine_rows": len(quarantined)}


def stage_pois(city: Path, args) -> dict:
    """AMap POI objects -> parsed, GCJ-02 -> WGS-84, categorised, located."""
    import pandas as pd

    from lifecircle import refdata
    from lifecircle.ingest import categorise, locate
    from lifecircle.sources.amap import parse_pois

    raws = [json.loads(line) for line in (city / "amap/pois.jsonl").read_text(encoding="utf-8").splitlines()]
    df = pd.DataFrame(parse_pois(raws))
    cat = categorise.categorise_pois(df["typecodes"], df["name"], refdata.load_amap_typecodes(), refdata.load_keywords())
    comm = locate.nearest_community(df["lng"], df["lat"], pd.read_csv(city / "population_points.csv", dtype={"community_code": str}))
    return {"pois": len(df), "categorised": int(cat.notna().sum()), "located": len(comm)}


def stage_coverage(city: Path, args) -> dict:
    """Exact network coverage for every community x category from the open outlets."""
    import pandas as pd

    from lifecircle import refdata
    from lifecircle.coverage.access import compute_access
    from lifecircle.coverage.network import build_graph

    cfg = refdata.load_city("tianshui")
    cats = refdata.load_categories()
    cats["threshold_m"] = cats["category_code"].map(refdata.walk_threshold_m(cats, cfg))
    nodes = pd.read_csv(city / "network/nodes.csv")
    edges = pd.read_csv(city / "network/edges.csv")
    comms = pd.read_csv(city / "communities.csv", dtype={"community_code": str})
    points = pd.read_csv(city / "population_points.csv", dtype={"community_code": str, "point_id": str})
    truth = pd.read_csv(city / "truth/outlets.csv", dtype=str)
    open_ = truth[truth["close_date"].isna() | (truth["close_date"] > "2026-10-31")]
    outlets = pd.DataFrame({"category_code": open_["category_code"], "lng": open_["lng"].astype(float),
                            "lat": open_["lat"].astype(float)})
    t0 = time.perf_counter()
    graph = build_graph(nodes, edges)
    t1 = time.perf_counter()
    access, flags = compute_access(comms, points, outlets, cats, graph, walking_speed=80, detour_factor=1.3)
    return {"nodes": len(nodes), "outlets": len(outlets), "communities": len(comms), "categories": len(cats),
            "graph_build_s": round(t1 - t0, 2), "access_s": round(time.perf_counter() - t1, 2),
            "covered_share": round(float(access[access["category_code"] == "convenience_store"]["present"].mean()), 3)}


STAGES = {"generate": stage_generate, "registrations": stage_registrations, "pois": stage_pois,
          "coverage": stage_coverage}


def _child(name: str, city: str, args, queue) -> None:
    start = time.perf_counter()
    try:
        info = STAGES[name](Path(city), args)
        error = None
    except Exception as exc:  # reported, not hidden
        info, error = {}, f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"stage": name, "wall_s": round(wall, 2), "peak_mib": round(peak_mib), "error": error, **info})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--communities", type=int, default=None, help="default: the Tianshui sample (120)")
    p.add_argument("--outlets", type=int, default=20000)
    p.add_argument("--seed", type=int, default=2023)
    p.add_argument("--stages", default=",".join(STAGES))
    p.add_argument("--out", default=str(HERE / "out" / "city"))
    p.add_argument("--results", default=str(HERE / "results.md"))
    args = p.parse_args(argv)
    ctx = mp.get_context("spawn")
    rows = []
    for name in args.stages.split(","):
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(name, args.out, args, queue))
        proc.start()
        result = queue.get()
        proc.join()
        rows.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    command = "./lc bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(f"\n### {date.today().isoformat()} — `{command}`\n\n")
        f.write(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}\n\n")
        f.write("| stage | wall s | peak MiB | details |\n|---|---|---|---|\n")
        for r in rows:
            details = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("stage", "wall_s", "peak_mib"))
            f.write(f"| {r['stage']} | {r['wall_s']} | {r['peak_mib']} | {details} |\n")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    sys.exit(main())
