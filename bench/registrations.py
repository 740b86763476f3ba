"""Benchmark: N registrations (default 1,000,000) from the registry API to the warehouse.

Stages, each timed with the process's peak resident memory during the stage:

1. extract — ``lifecircle.ingest.registrations.extract``: API pages (10,000 items) from
   the local ``RegistryServer`` over real sockets -> Parquet landing -> COPY into
   raw.registration, a checkpoint per page;
2. validate — raw rows read back (COPY TO + pyarrow), row rules, categories, brands,
   community, GX suite on every row, quarantine + staging upsert;
3. publish — core.outlet_history (SCD2) rebuilt, GX + table checks inside the publish
   transaction;
4. bare COPY — the same rows, pre-encoded in full (once as CSV, once in PostgreSQL's
   binary format), COPYed into the same raw table under another load id: the floor any
   loader pays; the ratio is taken against the faster of the two.

Input: a synthetic registry (numpy) written to bench/out/registrations_<N>.jsonl (kept
for re-runs): realistic names (chain brands with branch suffixes, trade words), Tianshui
community addresses, GB/T 4754 codes (some unmapped, found by keyword), ~5% closures as
second versions, and ~2% dirty rows (bad check characters, missing fields, bad dates,
unknown status words, repeated lines). Warehouse: a fresh database on the machine's
PostgreSQL (127.0.0.1:5432), or ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` when set.

    uv run python bench/registrations.py --rows 1000000 [--profile bench/out/reg.prof]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MONTH = "2024-05"
TOKEN = "bench-registry-token"
PAGE_SIZE = 10_000


# ------------------------------------------------------------------ input
def write_registry(path: Path, n: int, seed: int = 3) -> dict:
    """N registry API items as JSONL (see module docstring); returns the dirt counts."""
    import pandas as pd

    from lifecircle import refdata
    from lifecircle.quality.uscc import USCC_CHARSET, org_check_digits, uscc_check_digits

    rng = np.random.default_rng(seed)
    comms = refdata.load_communities("tianshui")
    gbt = refdata.load_gbt4754()["industry_code"].to_numpy()
    brands = refdata.load_brands()["brand"].to_numpy()
    n_dup = int(n * 0.003)  # repeated lines
    n_out = int((n - n_dup) / 1.05)  # outlets; ~5% get a second (closing) version
    serial = rng.permutation(np.arange(10_000_000, 10_000_000 + n_out))
    body = np.char.zfill(serial.astype("U8"), 8)
    prefix = np.where(rng.random(n_out) < 0.6, "92", "91")
    district = np.where(rng.random(n_out) < 0.6, "620502", "620503")
    code17 = np.char.add(np.char.add(np.char.add(prefix, district), body), org_check_digits(body))
    uscc = np.char.add(code17, uscc_check_digits(code17))

    trade = np.array(["便利店", "超市", "包子铺", "早餐店", "药房", "理发店", "干洗店", "修鞋配钥匙", "快递驿站",
                      "书店", "菜店", "水果店", "面馆", "家政服务部", "健身房"])
    surname = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    is_brand = rng.random(n_out) < 0.2
    generic = np.char.add(np.char.add(surname[rng.integers(0, len(surname), n_out)], "记"),
                          trade[rng.integers(0, len(trade), n_out)])
    cidx = rng.integers(0, len(comms), n_out)
    cname = comms["name"].to_numpy()[cidx]
    branded = np.char.add(np.char.add(np.char.add(brands[rng.integers(0, len(brands), n_out)], "（"), cname), "店）")
    name = np.where(is_brand, branded, generic)
    address = np.char.add(np.char.add(np.char.add("甘肃省天水市", np.where(district == "620502", "秦州区", "麦积区")),
                                      np.where(rng.random(n_out) < 0.95, cname, "")),
                          np.char.add(np.char.add("民主路", rng.integers(1, 400, n_out).astype("U3")), "号"))
    industry = np.where(rng.random(n_out) < 0.9, gbt[rng.integers(0, len(gbt), n_out)], "5299")
    scope = np.array(["日用百货零售", "早餐、包子、豆浆", "药品零售", "修鞋、配钥匙", "快递收发", "理发、美容"])
    est = (np.datetime64("2012-01-01") + rng.integers(0, 4400, n_out)).astype("datetime64[D]")
    upd = est.astype("datetime64[s]") + rng.integers(0, 86400 * 30, n_out)
    upd = np.minimum(upd, np.datetime64("2024-04-30T12:00:00"))
    est = np.minimum(est, upd.astype("datetime64[D]"))
    status = rng.choice(np.array(["存续", "在业", "开业"]), n_out, p=[0.9, 0.07, 0.03])
    df = pd.DataFrame({"uscc": uscc, "name": name, "address": address, "industry_code": industry,
                       "business_scope": scope[rng.integers(0, len(scope), n_out)],
                       "established_date": est.astype("U10"), "status": status, "approved_date": est.astype("U10"),
                       "updated_at": np.char.add(upd.astype("U19"), "+08:00"), "district_adcode": district})
    closing = df.sample(n=n - n_dup - n_out, random_state=seed).copy()
    later = pd.to_datetime(closing["updated_at"].str[:19]) + pd.to_timedelta(rng.integers(86400, 86400 * 20, len(closing)), "s")
    closing["updated_at"] = later.clip(upper=pd.Timestamp("2024-05-31T12:00:00")).dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    closing["status"] = np.where(rng.random(len(closing)) < 0.8, "注销", "吊销")
    df = pd.concat([df, closing], ignore_index=True)

    dirt = {}
    pick = rng.permutation(len(df))
    cuts = np.cumsum([0, int(n * 0.008), int(n * 0.003), int(n * 0.002), int(n * 0.002), int(n * 0.002)])
    bad_cd, missing, bad_date, bad_status, lower = (pick[cuts[i]:cuts[i + 1]] for i in range(5))
    df.loc[bad_cd, "uscc"] = [c[:17] + USCC_CHARSET[(USCC_CHARSET.index(c[17]) + 1) % 31]
                              for c in df.loc[bad_cd, "uscc"]]
    df.loc[missing, "address"] = None
    df.loc[bad_date, "established_date"] = "2023-13-45"
    df.loc[bad_status, "status"] = "正常营业"
    df.loc[lower, "uscc"] = df.loc[lower, "uscc"].str.lower()
    dirt.update(bad_check_digit=len(bad_cd), missing_address=len(missing), bad_date=len(bad_date),
                unknown_status=len(bad_status), lower_case_code=len(lower))
    dup = df.sample(n=n_dup, random_state=seed + 1)
    dirt["repeated_line"] = len(dup)
    df = pd.concat([df, dup], ignore_index=True).sample(frac=1, random_state=seed + 2)
    with path.open("w", encoding="utf-8") as fh:
        for rec in df.to_dict("records"):
            fh.write(json.dumps({k: (None if v is None or v != v else v) for k, v in rec.items()},
                                ensure_ascii=False) + "\n")
    return dirt


# ------------------------------------------------------------------ measuring
class PeakRss:
    """Peak resident memory within a stage: /proc/self/statm sampled every 20 ms."""

    def __init__(self):
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def reset(self):
        self.peak = self.rss()

    def stop(self):
        self._stop.set()


STAGES: list[dict] = []


@contextmanager
def stage(name: str, mem: PeakRss, profiler: cProfile.Profile | None = None, **details):
    mem.reset()
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        yield details
    finally:
        if profiler:
            profiler.disable()
        STAGES.append({"stage": name, "wall_s": round(time.perf_counter() - t0, 2),
                       "peak_mib": round(max(mem.peak, mem.rss()) / 2**20), **details})
        print(f"{name:<28} {STAGES[-1]['wall_s']:>7.2f} s  {STAGES[-1]['peak_mib']:>6} MiB  {details}", flush=True)


@contextmanager
def substage_timer(module, attr: str, into: dict, key: str):
    """Accumulate the wall time spent in ``module.attr`` (bench-only instrumentation)."""
    original = getattr(module, attr)

    def timed(*a, **kw):
        t0 = time.perf_counter()
        try:
            return original(*a, **kw)
        finally:
            into[key] = round(into.get(key, 0) + time.perf_counter() - t0, 2)

    setattr(module, attr, timed)
    try:
        yield
    finally:
        setattr(module, attr, original)


# ------------------------------------------------------------------ warehouse
def fresh_warehouse() -> tuple[str, callable]:
    """A new, migrated warehouse database; returns (url, drop)."""
    import sqlalchemy as sa

    if os.environ.get("AIRFLOW_CONN_WAREHOUSE_DEFAULT"):
        from lifecircle.warehouse import migrate
        migrate.upgrade()
        return os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"], lambda: None
    name = f"lifecircle_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    from lifecircle.warehouse import migrate
    migrate.upgrade()

    def drop():
        from lifecircle.warehouse.engine import _engine
        _engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"], drop


def bare_copy(engine, landing_dir: Path) -> dict:
    """COPY the landed rows into raw.registration, pre-encoded in full before the clock
    starts, once as CSV and once in PostgreSQL's binary format (what the pipeline now
    sends); returns both times. The ratio is taken against the faster of the two."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    from lifecircle.warehouse.arrow_copy import binary_stream

    files = sorted(landing_dir.rglob("*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in files])
    table = table.set_column(0, "load_id", pa.array(["bench:bare-copy"] * table.num_rows, pa.string()))
    cols = ", ".join(table.column_names)
    csv_buf = io.BytesIO()
    pacsv.write_csv(table, csv_buf, pacsv.WriteOptions(include_header=False))
    out = {"rows": table.num_rows}
    with engine.begin() as conn:
        stream = binary_stream(conn, "raw.registration", table)
    encoded = [("csv", csv_buf)]
    if stream is not None:  # None where the encoder is not installed
        encoded.append(("binary", io.BytesIO(b"".join(iter(stream.read, b"")))))
    for fmt, buf in encoded:
        buf.seek(0)
        with engine.begin() as conn:
            t0 = time.perf_counter()
            with conn.connection.driver_connection.cursor() as cur:
                cur.copy_expert(f"COPY raw.registration ({cols}) FROM STDIN WITH (FORMAT {fmt})", buf, size=1 << 20)
            out[f"{fmt}_s"] = round(time.perf_counter() - t0, 2)
            conn.execute(sa.text("DELETE FROM raw.registration WHERE load_id = 'bench:bare-copy'"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM raw.registration"))  # the second COPY finds the table as the first did
    return out


# ------------------------------------------------------------------ main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--page-size", type=int, default=PAGE_SIZE)
    ap.add_argument("--profile", help="write a cProfile of the pipeline stages to this file")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    ap.add_argument("--keep-db", action="store_true", help="keep the bench database (prints its URL)")
    args = ap.parse_args(argv)

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="bench-reg-", dir=out))
    os.environ["LIFECIRCLE_STATE_DIR"] = str(state)
    os.environ["LIFECIRCLE_REGISTRATION_EXPORTS_DIR"] = str(state / "exports")  # empty: API only
    os.environ.setdefault("LIFECIRCLE_CITY", "tianshui")

    city_data = out / "samplecity" / "tianshui"  # reference geodata for prepare() (communities, points)
    if not (city_data / "communities.csv").exists():
        from lifecircle.samplecity import generate_city
        generate_city(city_data, seed=2023, with_uploads=False)
    os.environ["LIFECIRCLE_CITY_DATA"] = str(city_data)

    path = out / f"registrations_{args.rows}.jsonl"
    if not path.exists():
        t0 = time.perf_counter()
        dirt = write_registry(path, args.rows)
        print(f"generated {path.name} in {time.perf_counter() - t0:.1f} s: {dirt}", flush=True)

    from lifecircle.devservers import RegistryServer
    from lifecircle.ingest import parquet_landing, registrations
    from lifecircle.quality import gx_runner
    from lifecircle.sources import registry_api
    from lifecircle.warehouse.engine import get_engine
    from lifecircle.warehouse.reference import prepare

    mem = PeakRss()
    # CPU time, not wall: other jobs on the 2 cores would otherwise blur the profile.
    prof = cProfile.Profile(time.process_time) if args.profile else None
    _, drop = fresh_warehouse()
    prepare()
    try:
        with stage("server load (not pipeline)", mem, rows=args.rows):
            server = RegistryServer(path, TOKEN, max_page_size=args.page_size).start()
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:{TOKEN}@127.0.0.1:{server.port}"
        t_all = time.perf_counter()
        sub = {}
        with stage("extract (API → Parquet → COPY raw)", mem, prof) as d, \
                substage_timer(registry_api, "_get_page", sub, "http_json_s"), \
                substage_timer(parquet_landing, "write_parquet", sub, "parquet_s"), \
                substage_timer(parquet_landing, "copy_arrow", sub, "copy_raw_s"), \
                substage_timer(parquet_landing, "land", sub, "land_s"):
            ext = registrations.extract(MONTH, page_size=args.page_size)
            d.update(rows=ext["rows"], pages=ext["pages"], **sub)
        landing_s = sub["land_s"]  # Parquet write and COPY run side by side within it
        server.stop()
        sub: dict = {}
        with stage("validate (rules + GX → staging)", mem, prof) as d, \
                substage_timer(registrations, "read_raw", sub, "read_raw_s"), \
                substage_timer(registrations, "transform", sub, "rules_categories_s"), \
                substage_timer(gx_runner, "validate_dataframe", sub, "gx_s"), \
                substage_timer(registrations, "write_staging", sub, "staging_write_s"):
            val = registrations.validate(MONTH)
            d.update(accepted=val["accepted"], quarantined=val["quarantined_rows"], **sub)
        sub = {}
        with stage("publish (core SCD2 + checks)", mem, prof) as d, \
                substage_timer(registrations, "run_sql_file", sub, "scd2_sql_s"), \
                substage_timer(registrations, "validate_core", sub, "core_read_gx_s"):
            pub = registrations.publish(MONTH)
            d.update(outlet_versions=pub["outlet_versions"], open=pub["open_at_period_end"], **sub)
        total = time.perf_counter() - t_all
        with stage("bare COPY (same rows, same table)", mem) as d:
            bare = bare_copy(get_engine(), state / "landing" / "raw")
            n_bare, t_bare = bare["rows"], min(bare["csv_s"], bare.get("binary_s", bare["csv_s"]))
            d.update(bare)
    finally:
        mem.stop()
        if args.keep_db:
            print("kept warehouse:", os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"])
        else:
            drop()
        shutil.rmtree(state, ignore_errors=True)
    if prof:
        prof.dump_stats(args.profile)
    rows = ext["rows"]
    extract_s = STAGES[1]["wall_s"]
    res = {"rows": rows, "total_s": round(total, 2), "bare_copy_s": round(t_bare, 2),
           "rate_rows_s": round(rows / total), "bare_rate_rows_s": round(n_bare / t_bare),
           "end_to_end_ratio": round((rows / total) / (n_bare / t_bare), 3),
           "raw_landing_ratio": round((rows / extract_s) / (n_bare / t_bare), 3),
           "parquet_copy_ratio": round((rows / landing_s) / (n_bare / t_bare), 3),
           "peak_mib": max(s["peak_mib"] for s in STAGES)}
    print(json.dumps(res, indent=1))
    if not args.no_record:
        record(args, argv, res)
    return res


def record(args, argv, res: dict) -> None:
    cmd = "uv run python bench/registrations.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    load = os.getloadavg()[0]
    lines = [f"\n### {date.today()} — `{cmd.strip()}`\n",
             f"machine: {os.cpu_count()} cores, CPython {platform.python_version()}, load average {load:.1f} at the "
             f"end; registry server in the same process (threads), page_size {args.page_size}; PostgreSQL on "
             "127.0.0.1 (fresh database); peak = max RSS sampled during the stage (server + client)\n",
             "| stage | wall s | peak MiB | details |", "|---|---|---|---|"]
    for s in STAGES:
        details = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("stage", "wall_s", "peak_mib"))
        lines.append(f"| {s['stage']} | {s['wall_s']} | {s['peak_mib']} | {details} |")
    lines.append(f"| **pipeline total (extract + validate + publish)** | **{res['total_s']}** | {res['peak_mib']} | "
                 f"{res['rate_rows_s']} rows/s |")
    lines.append(f"\nBare COPY (the faster of CSV and binary): {res['bare_rate_rows_s']} rows/s. Landing (Parquet write and COPY of the same "
                 f"Arrow table, side by side; summed over pages) at {res['parquet_copy_ratio']:.0%} of the bare COPY rate; "
                 f"extract with HTTP and JSON at {res['raw_landing_ratio']:.0%}; whole pipeline at "
                 f"{res['end_to_end_ratio']:.0%}.\n")
    with (HERE / "results.md").open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
