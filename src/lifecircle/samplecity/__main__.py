"""CLI: ``python -m lifecircle.samplecity --out DIR [--seed 2023] [--communities N]
[--outlets N] [--city tianshui] [--as-of 2026-10-31] [--no-uploads]``."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date

from lifecircle.samplecity.generator import DEFAULT_AS_OF, generate_city


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lifecircle.samplecity",
                                 description="Write a deterministic sample city.")
    ap.add_argument("--out", required=True, help="output folder (files are overwritten)")
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--city", default="tianshui")
    ap.add_argument("--communities", type=int, default=None,
                    help="build a synthetic city of N communities (default: the real city's list)")
    ap.add_argument("--outlets", type=int, default=20000)
    ap.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    ap.add_argument("--no-uploads", action="store_true", help="skip the annex-5 uploads")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t = time.perf_counter()
    manifest = generate_city(args.out, seed=args.seed, city=args.city, n_communities=args.communities,
                             n_outlets=args.outlets, as_of=args.as_of, with_uploads=not args.no_uploads)
    summary = {"out": args.out, "seconds": round(time.perf_counter() - t, 1), "counts": manifest["counts"],
               "dirt": manifest["dirt"], "bbox": manifest["bbox"], "uploads": manifest["uploads"]["status"]}
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
