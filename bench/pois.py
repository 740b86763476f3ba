"""Benchmark: harvest N synthetic POIs (default 200,000) from the fake AMap server over
real sockets with ``lifecircle.sources.amap.harvest`` (cell tiling, splitting at the
200-result cap, paging), then parse (GCJ-02 -> WGS-84) and categorise them.

POIs: numpy-generated, 70% in Gaussian clusters (dense cells must split down), 30%
uniform, typecodes drawn from config/mappings/amap_typecode.csv; written as JSONL to
bench/out/pois_<N>.jsonl. Server and client run in this process (the server in threads),
so the peak resident memory covers both. Appends a section to bench/results.md.

    uv run python bench/pois.py --pois 200000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BBOX = (105.55, 34.45, 105.95, 34.75)  # GCJ-02, around Tianshui


def write_pois(path: Path, n: int, seed: int = 11) -> None:
    from lifecircle import refdata

    rng = np.random.default_rng(seed)
    codes = [c for c in refdata.load_amap_typecodes()["typecode"] if len(c) == 6]
    n_cl = int(n * 0.7)
    centres = np.column_stack([rng.uniform(BBOX[0] + 0.05, BBOX[2] - 0.05, 40),
                               rng.uniform(BBOX[1] + 0.05, BBOX[3] - 0.05, 40)])
    which = rng.integers(0, len(centres), n_cl)
    cl = centres[which] + rng.normal(0, 0.01, (n_cl, 2))
    un = np.column_stack([rng.uniform(BBOX[0], BBOX[2], n - n_cl), rng.uniform(BBOX[1], BBOX[3], n - n_cl)])
    xy = np.vstack([cl, un])
    xy[:, 0] = np.clip(xy[:, 0], BBOX[0], BBOX[2] - 1e-6)
    xy[:, 1] = np.clip(xy[:, 1], BBOX[1], BBOX[3] - 1e-6)
    tc = rng.choice(np.array(codes), n)
    names = rng.choice(np.array(["便利店", "超市", "药房", "菜店", "理发店", "干洗店", "书店", "早餐店"]), n)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "id": f"B0BENCH{i:07d}", "name": f"{i % 997}号{names[i]}", "type": "购物服务", "typecode": str(tc[i]),
                "address": [] if i % 5 == 0 else f"民主路{i % 300}号", "location": f"{xy[i, 0]:.6f},{xy[i, 1]:.6f}",
                "pname": "甘肃省", "cityname": "天水市", "adname": "秦州区", "adcode": "620502", "tel": []},
                ensure_ascii=False) + "\n")


def load_into_warehouse(raws: list[dict], cells: list[str], parsed) -> float:
    """COPY the harvest into raw.poi and the parsed rows into staging.poi, as the POI DAG
    does (a throw-away load id and snapshot date, removed again); returns seconds."""
    import pandas as pd
    import sqlalchemy as sa

    from lifecircle.ingest.pois import RAW_COLUMNS, STAGING_COLUMNS, _flat
    from lifecircle.warehouse import embedded, migrate
    from lifecircle.warehouse.bulk import copy_rows
    from lifecircle.warehouse.engine import get_engine

    if not os.environ.get("AIRFLOW_CONN_WAREHOUSE_DEFAULT"):
        os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = embedded.start(HERE / "out" / "pgdata")
    migrate.upgrade()
    raw = pd.DataFrame({"load_id": "bench:pois", "cell_id": cells, "seq": range(len(raws)),
                        **{col: [_flat(r.get(key)) for r in raws] for col, key in (
                            ("poi_id", "id"), ("name", "name"), ("type", "type"), ("typecode", "typecode"),
                            ("address", "address"), ("location", "location"), ("adcode", "adcode"),
                            ("adname", "adname"), ("tel", "tel"))}})
    staged = parsed.assign(snapshot_date=date(1999, 12, 31), load_id="bench:pois", poi_id=parsed["id"],
                           community_code=None).drop_duplicates("poi_id")
    staged["name"] = staged["name"].fillna("")
    engine = get_engine()
    t0 = time.perf_counter()
    with engine.begin() as conn:
        copy_rows(conn, "raw.poi", raw[RAW_COLUMNS])
        copy_rows(conn, "staging.poi", staged, STAGING_COLUMNS)
    took = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM raw.poi WHERE load_id = 'bench:pois'"))
        conn.execute(sa.text("DELETE FROM staging.poi WHERE load_id = 'bench:pois'"))
    return took


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pois", type=int, default=200_000)
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    args = ap.parse_args(argv)

    import pandas as pd

    from lifecircle import refdata
    from lifecircle.devservers import AmapServer
    from lifecircle.ingest import categorise
    from lifecircle.ingest.pois import DEFAULT_HARVEST_TYPES
    from lifecircle.sources.amap import harvest, parse_pois

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    path = out / f"pois_{args.pois}.jsonl"
    t0 = time.perf_counter()
    write_pois(path, args.pois)
    t_gen = time.perf_counter() - t0

    collected: list[dict] = []
    cells: list[str] = []

    def on_cell(cell_id: str, raws: list[dict]) -> None:
        collected.extend(raws)
        cells.extend([cell_id] * len(raws))

    t0 = time.perf_counter()
    with AmapServer(path, "bench-key") as server:
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = harvest(server.url, "bench-key", BBOX, list(DEFAULT_HARVEST_TYPES), qps=None, on_cell=on_cell)
        t_harvest = time.perf_counter() - t0
    t0 = time.perf_counter()
    parsed = pd.DataFrame(parse_pois(collected))
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    category = categorise.categorise_pois(parsed["typecodes"], parsed["name"], refdata.load_amap_typecodes(),
                                          refdata.load_keywords())
    t_cat = time.perf_counter() - t0
    t_load_db = load_into_warehouse(collected, cells, parsed.assign(category_code=category))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {"pois_generated": args.pois, "pois_harvested": len(collected), "distinct": int(parsed["id"].nunique()),
           "queries": summary["queries"], "leaf_cells": summary["leaf_cells"], "split_cells": summary["split_cells"],
           "truncated_cells": len(summary["truncated_cells"]), "categorised": int(category.notna().sum()),
           "generate_s": round(t_gen, 2), "server_load_s": round(t_load, 2), "harvest_s": round(t_harvest, 2),
           "parse_s": round(t_parse, 2), "categorise_s": round(t_cat, 2), "warehouse_load_s": round(t_load_db, 2),
           "peak_mib": round(peak)}
    print(json.dumps(res, indent=1))
    if not args.no_record:
        cmd = "uv run python bench/pois.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        with (HERE / "results.md").open("a", encoding="utf-8") as f:
            f.write(f"\n### {date.today()} — `{cmd.strip()}`\n\nmachine: {os.cpu_count()} cores, CPython "
                    f"{platform.python_version()}; fake AMap server in the same process (threads), cap 200, "
                    f"page_size 25, no QPS limit; peak memory = the process's max RSS (server + client)\n\n"
                    "| stage | wall s | details |\n|---|---|---|\n"
                    f"| generate JSONL (numpy) | {res['generate_s']} | {args.pois} POIs, not part of the pipeline |\n"
                    f"| server load | {res['server_load_s']} | index of {args.pois} POIs |\n"
                    f"| harvest | {res['harvest_s']} | {res['queries']} queries, {res['leaf_cells']} leaf cells, "
                    f"{res['split_cells']} splits, {res['truncated_cells']} truncated, {res['pois_harvested']} POIs "
                    f"({res['distinct']} distinct) |\n"
                    f"| parse (GCJ-02 → WGS-84) | {res['parse_s']} | |\n"
                    f"| categorise | {res['categorise_s']} | {res['categorised']} categorised |\n"
                    f"| load (COPY raw.poi + staging.poi) | {res['warehouse_load_s']} | PostgreSQL "
                    f"(AIRFLOW_CONN_WAREHOUSE_DEFAULT, else embedded in bench/out/pgdata) |\n"
                    f"| **peak memory** | | {res['peak_mib']} MiB |\n")
    return res


if __name__ == "__main__":
    main()
