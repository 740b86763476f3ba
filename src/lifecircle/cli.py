"""Command line: ``lifecircle demo`` runs the whole monthly cycle on the embedded default.

Airflow is driven through its own CLI (``airflow dags test``) in a subprocess, so this
package never imports Airflow."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lifecircle import settings
from lifecircle.period import Month

DAG_ORDER = ("lifecircle_registrations", "lifecircle_pois", "lifecircle_surveys", "lifecircle_coverage",
             "lifecircle_report")
DEMO_TOKEN = "demo-registry-token"
DEMO_KEY = "demo-amap-key"


def _say(msg: str) -> None:
    print(msg, flush=True)


def cmd_generate(args) -> int:
    from lifecircle.samplecity import generate_city

    out = Path(args.out) if args.out else settings.state_dir() / "samplecity" / settings.city()
    summary = generate_city(out, seed=args.seed, n_communities=args.communities, n_outlets=args.outlets)
    _say(json.dumps({k: v for k, v in summary.items() if not isinstance(v, (dict, list))}, ensure_ascii=False, default=str))
    _say(f"sample city written to {out}")
    return 0


def ensure_sample_city(seed: int) -> Path:
    from lifecircle import citydata
    from lifecircle.samplecity import generate_city

    out = citydata.city_data_dir()
    manifest = out / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("seed") == seed:
        return out
    _say(f"generating the sample city (seed {seed}) into {out} ...")
    generate_city(out, seed=seed)
    return out


def airflow_env() -> dict:
    home = settings.state_dir() / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.repo_root() / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.repo_root() / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "LIFECIRCLE_TASK_RETRIES": env.get("LIFECIRCLE_TASK_RETRIES", "0"),
    })
    return env


def ensure_airflow_db(env: dict) -> None:
    marker = Path(env["AIRFLOW_HOME"]) / ".migrated"
    if marker.exists():
        return
    _say("initialising Airflow's metadata database (SQLite, embedded mode) ...")
    subprocess.run([_airflow(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    marker.touch()


def _airflow() -> str:
    return shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"


def run_dag(dag_id: str, month: Month, env: dict, log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}.log"
    start = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.run([_airflow(), "dags", "test", dag_id, "-c", json.dumps({"month": str(month)})],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    took = time.monotonic() - start
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-40:]
        raise SystemExit(f"{dag_id} failed for {month} after {took:.0f}s; log: {log_path}\n" + "\n".join(tail))
    _say(f"  {dag_id:28s} ok  ({took:.0f}s, log {log_path})")


def drop_sample_uploads(month: Month, seed: int) -> None:
    """Put the month's survey files into the landing folder, as circles would send them."""
    from lifecircle import refdata
    from lifecircle.surveys.samples import make_sample_uploads

    comms = refdata.load_communities().set_index("community_code")["name"]
    members = refdata.load_circle_members()
    circles = [{"circle_code": c.circle_code, "name": c.name,
                "communities": [comms[m] for m in members.loc[members["circle_code"] == c.circle_code, "community_code"]]}
               for c in refdata.load_circles().itertuples()]
    make_sample_uploads(settings.landing_dir(), circles, month.end, seed)


def cmd_demo(args) -> int:
    from lifecircle.devservers import AmapServer, RegistryServer
    from lifecircle.warehouse import embedded
    from lifecircle.warehouse.checksums import checksums
    from lifecircle.warehouse.engine import get_engine

    months = [Month.parse(args.month).shift(i - args.months + 1) for i in range(args.months)]
    city_dir = ensure_sample_city(args.seed)
    _say(f"warehouse: {embedded.ensure_warehouse_connection()}")
    env = airflow_env()
    ensure_airflow_db(env)
    registry = RegistryServer(city_dir / "registry" / "registrations.jsonl", DEMO_TOKEN).start()
    try:
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:{DEMO_TOKEN}@127.0.0.1:{registry.port}"
        for month in months:
            with AmapServer(city_dir / "amap" / "pois.jsonl", DEMO_KEY, as_of=month.end) as amap:
                os.environ["AIRFLOW_CONN_AMAP_API"] = f"http://:{DEMO_KEY}@127.0.0.1:{amap.port}"
                env.update({k: os.environ[k] for k in os.environ if k.startswith(("AIRFLOW_CONN_", "LIFECIRCLE_"))})
                _say(f"month {month}:")
                drop_sample_uploads(month, args.seed)
                for dag_id in DAG_ORDER:
                    run_dag(dag_id, month, env, settings.state_dir() / "logs" / str(month))
    finally:
        registry.stop()
    report = settings.reports_dir() / str(months[-1]) / "report.html"
    _say("")
    _say(f"report:    {report}")
    _say(f"warehouse: {os.environ['AIRFLOW_CONN_WAREHOUSE_DEFAULT']}  (psql \"{_psql_uri()}\")")
    for table, (rows, digest) in checksums(get_engine()).items():
        _say(f"  {table:36s} {rows:8d} rows  md5 {digest}")
    return 0


def _psql_uri() -> str:
    return os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"].replace("postgresql+psycopg2://", "postgresql://")


def cmd_checksums(args) -> int:
    from lifecircle.warehouse import embedded
    from lifecircle.warehouse.checksums import MART_TABLES, checksums
    from lifecircle.warehouse.engine import get_engine

    embedded.ensure_warehouse_connection()
    for table, (rows, digest) in checksums(get_engine(), tuple(args.tables or MART_TABLES)).items():
        _say(f"{table}\t{rows}\t{digest}")
    return 0


def cmd_migrate(args) -> int:
    from lifecircle.warehouse import embedded, migrate

    _say(f"warehouse: {embedded.ensure_warehouse_connection()}")
    migrate.upgrade()
    _say("migrated to head")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="lifecircle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run the whole monthly cycle for the sample city on the embedded default")
    p.add_argument("--month", default="2024-05", help="reporting month YYYY-MM (default 2024-05)")
    p.add_argument("--months", type=int, default=1, help="also run this many months up to --month (back-fill)")
    p.add_argument("--seed", type=int, default=2023)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("generate", help="generate a sample city (any size, for benchmarks)")
    p.add_argument("--out")
    p.add_argument("--seed", type=int, default=2023)
    p.add_argument("--communities", type=int, default=None)
    p.add_argument("--outlets", type=int, default=20000)
    p.set_defaults(func=cmd_generate)
    p = sub.add_parser("checksums", help="row counts and content checksums of the mart tables")
    p.add_argument("tables", nargs="*")
    p.set_defaults(func=cmd_checksums)
    p = sub.add_parser("migrate", help="migrate the warehouse to the newest schema")
    p.set_defaults(func=cmd_migrate)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
