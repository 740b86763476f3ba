"""Benchmark: the monthly report (progress + render: HTML and XLSX) for a city of N communities.

Synthesises a warehouse slice directly (no ingest, no coverage run): Tianshui's reference
data (categories, targets, tasks, divisions), N communities in circles of ~10, 24 months
of indicators, this month's access table, a map snapshot and the registry's open outlets.
Then times ``report.build.progress(period)`` + ``report.build.render(period)`` in a fresh
process (its own peak memory) and appends the result to bench/results.md.

    uv run python bench/report.py --communities 6000 --outlets 1000000

Uses ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` when set (a fresh database is created next to it),
else starts an embedded server in ``--pgdata`` (default a temporary folder).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import shlex
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _database(pgdata: str | None) -> str:
    import sqlalchemy as sa

    from lifecircle.warehouse import embedded

    name = "bench_report"
    base = os.environ.get("AIRFLOW_CONN_WAREHOUSE_DEFAULT") or embedded.start(
        Path(pgdata or tempfile.mkdtemp(prefix="bench-report-")) / "pgdata")
    if "://" in base and "/" in base.split("://", 1)[1]:
        head, rest = base.split("://", 1)
        host, _, tail = rest.partition("/")
        _, q, query = tail.partition("?")
        admin = f"postgresql+psycopg2://{host}/postgres{q}{query}"
        uri = f"{head}://{host}/{name}{q}{query}"
    else:
        raise SystemExit(f"cannot parse {base}")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return uri


def synthesise(n_comm: int, n_outlets: int, period: str, months: int, seed: int) -> dict:
    import numpy as np
    import pandas as pd

    from lifecircle import refdata
    from lifecircle.period import Month
    from lifecircle.warehouse import migrate
    from lifecircle.warehouse.bulk import copy_rows
    from lifecircle.warehouse.engine import get_engine

    migrate.upgrade()
    rng = np.random.default_rng(seed)
    month = Month.parse(period)
    cfg = refdata.load_city("tianshui")
    cats = refdata.load_categories()
    cats = cats.assign(threshold_m=cats["category_code"].map(refdata.walk_threshold_m(cats, cfg)))
    divisions = refdata.load_divisions("tianshui")
    districts = divisions.loc[divisions["level"] == "district", "code"].tolist()
    streets = divisions[divisions["level"] == "street"]
    city_code = divisions.loc[divisions["level"] == "city", "code"].iloc[0]
    st = streets.sample(n_comm, replace=True, random_state=seed).reset_index(drop=True)
    bbox = cfg["bbox"]
    codes = [f"{s}{i:03d}" for i, s in enumerate(st["code"])]
    pop = rng.integers(2000, 12000, n_comm)
    comm = pd.DataFrame({"community_code": codes, "name": [f"社区{i:05d}" for i in range(n_comm)],
                         "street_code": st["code"], "district_code": st["parent_code"], "synthetic": True,
                         "lng": rng.uniform(bbox["min_lng"], bbox["max_lng"], n_comm),
                         "lat": rng.uniform(bbox["min_lat"], bbox["max_lat"], n_comm),
                         "population": pop, "households": (pop / 2.8).astype(int)})
    n_circles = max(1, n_comm // 10)
    circles = pd.DataFrame({"circle_code": [f"BC{i:04d}" for i in range(n_circles)],
                            "name": [f"第{i}号一刻钟便民生活圈" for i in range(n_circles)],
                            "anchor_community": codes[:: 10][:n_circles], "build_year": 2023 + np.arange(n_circles) % 3,
                            "batch": 1 + np.arange(n_circles) % 3})
    members = pd.DataFrame({"circle_code": [f"BC{min(i // 10, n_circles - 1):04d}" for i in range(n_comm)],
                            "community_code": codes, "role": ["anchor" if i % 10 == 0 else "member" for i in range(n_comm)]})
    req = cats["required_for_coverage"].to_numpy()
    ncat = len(cats)
    # access: per community and category
    present = rng.random((n_comm, ncat)) < np.where(req, 0.9, 0.6)
    within = (pop[:, None] * np.where(present, rng.uniform(0.5, 1, (n_comm, ncat)), rng.uniform(0, 0.5, (n_comm, ncat)))).astype(int)
    access = pd.DataFrame({
        "period": str(month), "community_code": np.repeat(codes, ncat), "category_code": np.tile(cats["category_code"], n_comm),
        "nearest_m": rng.uniform(50, 2000, n_comm * ncat).round(1), "nearest_walk_min": 0.0,
        "threshold_m": np.tile(cats["threshold_m"], n_comm), "population_within": within.ravel(),
        "population_share_within": (within / pop[:, None]).ravel().round(4),
        "outlets_within": rng.integers(0, 20, n_comm * ncat), "present": present.ravel(), "method": "network"})
    access["nearest_walk_min"] = (access["nearest_m"] / 80).round(1)
    covered = present[:, req].all(axis=1)
    # indicators for `months` months, trending up
    rows = []
    for k in range(months):
        p = str(month.shift(k - months + 1))
        f = (k + 1) / months
        cov = rng.random(n_comm) < (0.2 + 0.75 * f)
        rows.append(pd.DataFrame({"period": p, "level": "community", "unit_code": codes, "unit_name": comm["name"],
                                  "indicator": "communities_covered_share", "value": cov.astype(float),
                                  "numerator": cov.astype(int), "denominator": 1, "method": "network"}))
        rows.append(pd.DataFrame({"period": p, "level": "community", "unit_code": codes, "unit_name": comm["name"],
                                  "indicator": "missing_basic_categories", "value": rng.integers(0, 3, n_comm),
                                  "numerator": None, "denominator": None, "method": "network"}))
        circ = []
        for ind, lo, hi in (("communities_covered_share", 0.2, 1.0), ("residents_covered_share", 0.3, 1.0),
                            ("satisfaction_pct", 70, 98), ("chain_share", 0.1, 0.5), ("facility_area_share_pct", 5, 15),
                            ("facility_m2_per_100_households", 10, 50)):
            circ.append(pd.DataFrame({"period": p, "level": "circle", "unit_code": circles["circle_code"],
                                      "unit_name": circles["name"], "indicator": ind,
                                      "value": (lo + (hi - lo) * f * rng.uniform(0.7, 1.0, n_circles)).round(4),
                                      "numerator": None, "denominator": None, "method": "network"}))
        rows += circ
        for lvl, units in (("city", [(city_code, "天水市")]), ("district", [(d, d) for d in districts])):
            for code, name in units:
                for ind, v in (("communities_covered_share", 0.2 + 0.75 * f), ("residents_covered_share", 0.3 + 0.65 * f),
                               ("satisfaction_pct", 80 + 12 * f), ("chain_share", 0.2 + 0.15 * f),
                               ("registered_outlets", n_outlets * 0.9), ("located_outlets", n_outlets * 0.88)):
                    rows.append(pd.DataFrame([{"period": p, "level": lvl, "unit_code": code, "unit_name": name,
                                               "indicator": ind, "value": round(v, 4), "numerator": None,
                                               "denominator": None, "method": "network"}]))
    indicators = pd.concat(rows, ignore_index=True)
    comm_idx = rng.integers(0, n_comm, n_outlets)
    located = pd.DataFrame({"snapshot_date": month.end, "poi_id": [f"B{i:09d}" for i in range(n_outlets)],
                            "name": "网点", "category_code": cats["category_code"].to_numpy()[rng.integers(0, ncat, n_outlets)],
                            "lng": comm["lng"].to_numpy()[comm_idx], "lat": comm["lat"].to_numpy()[comm_idx],
                            "community_code": np.asarray(codes)[comm_idx]})
    history = pd.DataFrame({"uscc": [f"91620502{i:010d}" for i in range(n_outlets)], "valid_from": date(2022, 1, 1),
                            "valid_to": None, "name": "网点", "brand": "", "is_chain": rng.random(n_outlets) < 0.3,
                            "category_code": located["category_code"], "status": "存续", "is_open": True,
                            "community_code": located["community_code"], "address": "地址"})
    survey = pd.DataFrame({"period": str(month), "circle_code": circles["circle_code"],
                           "upload_id": [f"U{i:05d}" for i in range(n_circles)], "as_of": month.end,
                           "operator_types": [["private"]] * n_circles, "smart_platform": True, "development_form": "clustered",
                           "commercial_centres": 1, "residents_covered_10k": 2.5, "facility_area_share_pct": 11.0,
                           "satisfaction_pct": 91.0, "demand_list": "缺少菜市场"})
    survey_cat = pd.DataFrame({"upload_id": np.repeat(survey["upload_id"], ncat), "category_code": np.tile(cats["category_code"], n_circles),
                               "outlets": rng.integers(0, 30, n_circles * ncat), "employees_10k": 0.01,
                               "chain_outlets": rng.integers(0, 5, n_circles * ncat), "satisfaction_pct": 90.0,
                               "demand_list": None})
    sat = pd.DataFrame({"period": str(month), "circle_code": circles["circle_code"], "responses": 60, "satisfied": 55,
                        "satisfaction_pct": 91.67, "sample_ok": True, "repeat_respondents": 0})
    loads = pd.DataFrame([{"load_id": f"{s}:{month}", "source": s, "period": str(month), "as_of": month.end,
                           "status": "succeeded", "rows_received": 1, "rows_accepted": 1, "rows_quarantined": 0}
                          for s in ("registrations", "pois", "uploads")])
    engine = get_engine()
    with engine.begin() as conn:
        for table, df in (("core.division", divisions), ("core.category", cats), ("core.target", refdata.load_targets("tianshui")),
                          ("core.task", refdata.load_tasks("tianshui")), ("core.community", comm), ("core.circle", circles),
                          ("core.circle_member", members), ("mart.community_category_access", access),
                          ("mart.coverage_indicator", indicators), ("core.outlet_location", located),
                          ("core.outlet_history", history), ("core.circle_survey", survey),
                          ("staging.survey_category", survey_cat), ("core.circle_satisfaction", sat), ("raw.load", loads)):
            cols = [c for c in df.columns if c in _columns(conn, table)]
            copy_rows(conn, table, df, cols)
        conn.exec_driver_sql("ANALYZE")
    return {"communities": n_comm, "circles": n_circles, "categories": ncat, "indicator_rows": len(indicators),
            "access_rows": len(access), "outlets": n_outlets}


def _columns(conn, table: str) -> set[str]:
    import sqlalchemy as sa

    schema, name = table.split(".")
    return set(conn.execute(sa.text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
                                    "AND table_name = :t"), {"s": schema, "t": name}).scalars())


def _timed(uri: str, period: str, out: str, queue) -> None:
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    from lifecircle.report import build

    t0 = time.perf_counter()
    prog = build.progress(period)
    t1 = time.perf_counter()
    res = build.render(period, out_dir=Path(out))
    t2 = time.perf_counter()
    queue.put({"progress_s": round(t1 - t0, 2), "render_s": round(t2 - t1, 2), "wall_s": round(t2 - t0, 2),
               "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               "progress_rows": prog["rows"], "html_kib": round(Path(res["report"]).stat().st_size / 1024),
               "xlsx_kib": round(Path(res["workbook"]).stat().st_size / 1024), "circles": res["circles"]})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--communities", type=int, default=6000)
    p.add_argument("--outlets", type=int, default=1_000_000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--period", default="2024-05")
    p.add_argument("--seed", type=int, default=2023)
    p.add_argument("--pgdata", default=None)
    p.add_argument("--out", default=str(HERE / "out" / "report"))
    p.add_argument("--results", default=str(HERE / "results.md"))
    args = p.parse_args(argv)
    uri = _database(args.pgdata)
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    t = time.perf_counter()
    sizes = synthesise(args.communities, args.outlets, args.period, args.months, args.seed)
    synth_s = round(time.perf_counter() - t, 1)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_timed, args=(uri, args.period, args.out, queue))
    proc.start()
    result = queue.get()
    proc.join()
    print({**sizes, **result, "synthesise_s": synth_s})
    cmd = "uv run python bench/report.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(f"\n### {date.today().isoformat()} — `{cmd}`\n\n")
        f.write(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
                f"load average {os.getloadavg()[0]:.1f} after the run; "
                f"synthetic warehouse slice: {sizes['communities']} communities, {sizes['circles']} circles, "
                f"{sizes['categories']} categories, {sizes['outlets']} outlets, {args.months} months of indicators "
                f"({sizes['indicator_rows']} rows), {sizes['access_rows']} access rows (synthesis {synth_s} s, not timed)\n\n")
        f.write("| stage | wall s | peak MiB | details |\n|---|---|---|---|\n")
        f.write(f"| report (progress + render: HTML + XLSX) | {result['wall_s']} | {result['peak_mib']} | "
                f"progress_s={result['progress_s']}, render_s={result['render_s']}, progress_rows={result['progress_rows']}, "
                f"html_kib={result['html_kib']}, xlsx_kib={result['xlsx_kib']}, circle_sheets={result['circles']} |\n")
    return 0 if result["wall_s"] <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
