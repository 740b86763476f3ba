"""``python -m lifecircle.devservers registry|amap --data DIR --port P``: run a fake API
in the foreground (for the demo, or to point an Airflow connection at).

``--data`` is a sample-city folder (``<DIR>/registry/registrations.jsonl``,
``<DIR>/amap/pois.jsonl``), a folder holding the JSONL directly, or the JSONL file.
Secrets default to the ``LIFECIRCLE_REGISTRY_TOKEN`` / ``LIFECIRCLE_AMAP_KEY`` environment
variables so they need not appear on a command line.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path

from lifecircle.devservers.amap_server import AmapServer
from lifecircle.devservers.registry_server import RegistryServer


def _find(data: Path, sub: str, name: str) -> Path:
    for cand in (data / sub / name, data / name, data):
        if cand.is_file():
            return cand
    raise SystemExit(f"no {name} under {data}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lifecircle.devservers", description=__doc__)
    ap.add_argument("api", choices=["registry", "amap"])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=os.environ.get("LIFECIRCLE_REGISTRY_TOKEN", "dev-token"),
                    help="registry bearer token")
    ap.add_argument("--key", default=os.environ.get("LIFECIRCLE_AMAP_KEY", "dev-key"),
                    help="AMap key")
    ap.add_argument("--as-of", type=date.fromisoformat, default=None,
                    help="AMap: only POIs open on this date")
    ap.add_argument("--cap", type=int, default=200)
    ap.add_argument("--daily-quota", type=int, default=None)
    ap.add_argument("--qps-limit", type=float, default=None)
    ap.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    common = {"host": args.host, "port": args.port, "verbose": args.verbose}
    if args.api == "registry":
        server = RegistryServer(_find(args.data, "registry", "registrations.jsonl"),
                                args.token, **common)
    else:
        server = AmapServer(_find(args.data, "amap", "pois.jsonl"), args.key,
                            as_of=args.as_of, cap=args.cap, daily_quota=args.daily_quota,
                            qps_limit=args.qps_limit, **common)
    # Bind first so the chosen port can be printed before serving.
    server.start()
    print(f"{args.api} fake API: {server.url} ({len(server)} records)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

