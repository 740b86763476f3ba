"""Benchmark: validate a staging.registration-shaped frame of N rows (default 1,000,000)
with its GX suite (expectations/staging_registration.json), as the registrations
validate step does (result_format COMPLETE, then row routing).

Measures the validation alone (frame building is reported apart), wall time and the
process's peak resident memory; appends a line to bench/results.md.

    uv run python bench/dq.py --rows 1000000
"""
from __future__ import annotations

import argparse
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


def frame(n: int, bad_share: float, seed: int = 1) -> pd.DataFrame:
    """N registration versions with valid credit codes; ``bad_share`` of rows get an
    unknown status (a routable row-level failure)."""
    from lifecircle.quality.uscc import org_check_digits, uscc_check_digits

    rng = np.random.default_rng(seed)
    body = np.char.zfill(np.arange(n).astype("U8"), 8)
    code17 = np.char.add(np.char.add("91620502", body), org_check_digits(body))
    uscc = np.char.add(code17, uscc_check_digits(code17))
    status = rng.choice(np.array(["存续", "在业", "注销"]), n)
    bad = rng.random(n) < bad_share
    status[bad] = "营业中"
    return pd.DataFrame({
        "uscc": uscc.astype(object), "updated_at": pd.Timestamp("2024-05-01T09:00:00+08:00"), "load_id": "registrations:2024-05",
        "name": "测试便利店", "address": "甘肃省天水市秦州区测试街1号", "industry_code": "5213", "business_scope": None,
        "established_date": date(2021, 3, 4), "approved_date": None, "status": status.astype(object),
        "is_closed": False, "district_adcode": "620502",
        "community_code": np.where(rng.random(n) < 0.05, None, "620502001001").astype(object),
        "category_code": np.where(rng.random(n) < 0.05, None, "convenience_store").astype(object),
        "category_rule": "industry", "brand": "测试便利店", "is_known_brand": False,
    })


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--bad-share", type=float, default=0.001)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    from lifecircle.quality import gx_runner, routing

    t0 = time.perf_counter()
    df = frame(args.rows, args.bad_share)
    t1 = time.perf_counter()
    results = gx_runner.validate_dataframe(df, "staging_registration")
    t2 = time.perf_counter()
    kept, failures, results = routing.route_rows(df, results)
    gx_runner.enforce(results)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failed = {r.expectation: r.unexpected_count for r in results if not r.success}
    line = (f"| dq (staging_registration, {args.rows:,} rows) | {t2 - t1:.2f} | {peak:.0f} | "
            f"frame built in {t1 - t0:.2f} s (not counted); routing+gate {t3 - t2:.2f} s; "
            f"{len(results)} expectations, failed {failed}, {len(failures)} rows routed |")
    print(line)
    if not args.no_record:
        cmd = "uv run python bench/dq.py " + shlex.join(argv if argv is not None else sys.argv[1:])
        with (HERE / "results.md").open("a", encoding="utf-8") as f:
            f.write(f"\n### {date.today()} — `{cmd.strip()}`\n\nmachine: {__import__('os').cpu_count()} cores, "
                    f"CPython {platform.python_version()}; wall s = validation only (GX Core, pandas)\n\n"
                    "| stage | wall s | peak MiB | details |\n|---|---|---|---|\n" + line + "\n")


if __name__ == "__main__":
    main()
