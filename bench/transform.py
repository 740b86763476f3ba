"""Benchmark: the pure registration transforms on N raw rows (default 1,000,000).

What ``lifecircle.ingest.registrations.transform`` does, timed function by function:
row rules (``check_rows``), categorisation, brand normalisation, community from
address. Building the input is not timed: a synthetic sample city of ``--outlets``
outlets is generated (``lifecircle.samplecity``, its dirt included), its registry lines
become the template, and the template is tiled to ``--rows`` rows with fresh valid
credit codes per copy (a spoiled check character stays spoiled, a duplicated line stays
duplicated), so the dirt shares and the name/address variety are those of the generator.

    uv run python bench/transform.py --rows 1000000

Prints rows/s per function and in total, and the process's peak resident memory
(``ru_maxrss``, includes the input frame); appends a section to bench/results.md unless
``--no-record``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def template(outlets: int, communities: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(raw registry rows, communities) of a freshly generated synthetic sample city."""
    from lifecircle.ingest.registration_rules import RAW_FIELDS
    from lifecircle.samplecity.generator import generate_city

    with tempfile.TemporaryDirectory(prefix="bench-transform-") as tmp:
        generate_city(tmp, seed=seed, n_communities=communities, n_outlets=outlets, with_uploads=False)
        with open(Path(tmp) / "registry" / "registrations.jsonl", encoding="utf-8") as f:
            items = [json.loads(line) for line in f]
        comms = pd.read_csv(Path(tmp) / "communities.csv", dtype=str)
    return pd.DataFrame(items, columns=list(RAW_FIELDS)).astype("object"), comms


def _fresh_codes(keys: np.ndarray, tile: int, n_keys: int) -> np.ndarray:
    """Valid credit codes, one per (tile, key), distinct across tiles (92: individual business)."""
    from lifecircle.quality.uscc import USCC_CHARSET, org_check_digits, uscc_check_digits

    serial = tile * n_keys + keys
    chars = np.array(list(USCC_CHARSET))
    body = chars[serial // 31 ** 7 % 31]
    for p in range(6, -1, -1):  # column-wise: a million codes in well under a second
        body = np.char.add(body, chars[serial // 31 ** p % 31])
    code17 = np.char.add(np.char.add("92620502", body), org_check_digits(body))
    return np.char.add(code17, uscc_check_digits(code17))


def _shift_seconds(stamp, seconds: int):
    """A well-formed ``YYYY-MM-DDTHH:MM:SS+08:00`` moved by ``seconds`` within its minute
    (copies get their own timestamps, as a month of real registrations has); anything
    else unchanged."""
    if isinstance(stamp, str) and len(stamp) == 25 and stamp[19:] == "+08:00" and stamp[17:19].isdigit():
        return f"{stamp[:17]}{(int(stamp[17:19]) + seconds) % 60:02d}{stamp[19:]}"
    return stamp


def frame(rows: int, outlets: int = 50_000, communities: int = 1000, seed: int = 2023
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rows`` raw registration rows (load_id, page_no, row_no + RAW_FIELDS) and the
    communities they are located against."""
    from lifecircle.quality.uscc import USCC_CHARSET, uscc_error

    base, comms = template(outlets, communities, seed)
    err = base["uscc"].map(uscc_error)
    keys, uniq = pd.factorize(base["uscc"])
    tiles = []
    for t in range(-(-rows // len(base))):
        part = base.copy()
        if t:
            fresh = _fresh_codes(np.maximum(keys, 0), t, len(uniq)).astype(object)
            keep = err.notna() & (err != "check_digit")  # missing/short codes stay as they are
            spoil = (err == "check_digit").to_numpy()
            nxt = {c: USCC_CHARSET[(i + 1) % 31] for i, c in enumerate(USCC_CHARSET)}
            fresh[spoil] = [c[:17] + nxt[c[17]] for c in fresh[spoil]]
            part["uscc"] = part["uscc"].where(keep, pd.Series(fresh, index=part.index))
            part["updated_at"] = part["updated_at"].map(lambda v, t=t: _shift_seconds(v, t)).astype(object)
        tiles.append(part)
    raw = pd.concat(tiles, ignore_index=True).iloc[:rows].copy()
    page_size = 1000
    raw.insert(0, "row_no", np.arange(len(raw)) % page_size)
    raw.insert(0, "page_no", np.arange(len(raw)) // page_size + 1)
    raw.insert(0, "load_id", "registrations:2024-12")
    return raw, comms


def run(raw: pd.DataFrame, comms: pd.DataFrame) -> tuple[dict, dict]:
    """Time each transform function as ``registrations.transform`` chains them."""
    from lifecircle import refdata
    from lifecircle.ingest import brands, categorise, locate
    from lifecircle.ingest.registration_rules import check_rows

    gbt, keywords, known = refdata.load_gbt4754(), refdata.load_keywords(), refdata.load_brands()
    times = {}

    def timed(name, fn, *args):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        times[name] = (time.perf_counter() - t, time.process_time() - c)
        return out

    valid, quarantined = timed("check_rows", check_rows, raw)
    valid = timed("categorise_registrations", categorise.categorise_registrations, valid, gbt, keywords)
    valid["brand"], valid["is_known_brand"] = timed("brand_column", brands.brand_column, valid["name"], known)
    valid["community_code"] = timed("community_from_address", locate.community_from_address, valid["address"], comms)
    facts = {"valid": len(valid), "quarantine_rows": len(quarantined),
             "quarantined_records": int(quarantined[["page_no", "row_no"]].drop_duplicates().shape[0]),
             "unmapped_category": int(valid["category_code"].isna().sum()),
             "known_brand": int(valid["is_known_brand"].sum()),
             "no_community": int(valid["community_code"].isna().sum())}
    return times, facts


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--outlets", type=int, default=50_000, help="outlets of the template city")
    ap.add_argument("--communities", type=int, default=1000)
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    raw, comms = frame(args.rows, args.outlets, args.communities)
    built = time.perf_counter() - t0
    times, facts = run(raw, comms)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total, total_cpu = (sum(t[i] for t in times.values()) for i in (0, 1))
    n = len(raw)
    lines = [f"| {name} | {s:.2f} | {c:.2f} | {n / s:,.0f} |" for name, (s, c) in times.items()]
    lines.append(f"| **total transform** | **{total:.2f}** | **{total_cpu:.2f}** | **{n / total:,.0f}** |")
    print(f"input: {n:,} rows built in {built:.1f} s (not timed); {len(comms)} communities")
    print("\n".join(lines))
    print(f"peak RSS {peak:.0f} MiB; {facts}")
    if not args.no_record:
        cmd = "uv run python bench/transform.py " + shlex.join(argv if argv is not None else sys.argv[1:])
        with (HERE / "results.md").open("a", encoding="utf-8") as f:
            f.write(f"\n### {date.today()} — `{cmd.strip()}`\n\n"
                    f"machine: {os.cpu_count()} cores, CPython {platform.python_version()}, pandas {pd.__version__}; "
                    f"input {n:,} raw rows tiled from a {args.outlets:,}-outlet synthetic city "
                    f"({args.communities} communities, generator dirt), built in {built:.1f} s (not timed); "
                    f"peak memory {peak:.0f} MiB (process max RSS, input frame included); "
                    f"load average {os.getloadavg()[0]:.1f} at the end (cpu s = this process's CPU time)\n\n"
                    "| function | wall s | cpu s | rows/s (wall) |\n|---|---|---|---|\n" + "\n".join(lines) + "\n\n"
                    f"{facts}\n")


if __name__ == "__main__":
    main()
