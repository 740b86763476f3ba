"""Command line: ``lifecircle demo`` runs the whole monthly cycle on the embedded default;
``lifecircle backfill`` runs a range of months the same way; ``lifecircle templates``
writes the blank survey forms to send out.

Airflow is driven in a subprocess — ``tools/run_months.py``, which runs every DAG for
every month with ``dag.test()`` in one Airflow process — so this package never imports
Airflow."""
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
from lifecircle.orchestration import DAG_ORDER
from lifecircle.period import Month

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
    from lifecircle.samplecity.generator import GENERATOR_VERSION

    out = citydata.city_data_dir()
    manifest = out / "manifest.json"
    if manifest.exists():
        found = json.loads(manifest.read_text())
        # An older generator's city lacks files later stages need (e.g. amap/geocode.jsonl).
        if found.get("seed") == seed and found.get("generator_version") == GENERATOR_VERSION:
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


def run_months(months: list[Month], env: dict, *, amap_data: Path | None = None,
               uploads_seed: int | None = None) -> None:
    """All DAGs for all ``months`` in one subprocess (tools/run_months.py); its progress
    lines come straight through; a failed run ends the command with its message."""
    cmd = [sys.executable, str(settings.repo_root() / "tools" / "run_months.py"), *map(str, months),
           "--dags", ",".join(DAG_ORDER)]
    if amap_data is not None:
        cmd += ["--amap-data", str(amap_data)]
    if uploads_seed is not None:
        cmd += ["--sample-uploads", str(uploads_seed)]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"back-fill stopped (exit {proc.returncode}); logs under {settings.state_dir() / 'logs'}")
    _say(f"{len(months)} month(s) x {len(DAG_ORDER)} DAGs in {time.monotonic() - start:.0f}s")


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
    if getattr(args, "start", None):  # backfill --from/--to
        first, last = Month.parse(args.start), Month.parse(args.end)
        if last < first:
            raise SystemExit(f"--to {last} is before --from {first}")
        months = [first.shift(i) for i in range((last.year - first.year) * 12 + last.month - first.month + 1)]
    else:
        months = [Month.parse(args.month).shift(i - args.months + 1) for i in range(args.months)]
    return _run(months, args.seed)


def _run(months: list[Month], seed: int) -> int:
    from lifecircle.devservers import RegistryServer
    from lifecircle.warehouse import embedded
    from lifecircle.warehouse.checksums import checksums
    from lifecircle.warehouse.engine import get_engine

    city_dir = ensure_sample_city(seed)
    _say(f"warehouse: {embedded.ensure_warehouse_connection()}")
    _check_order(months)
    env = airflow_env()
    ensure_airflow_db(env)
    _say(f"months {months[0]}..{months[-1]} ({len(months)}), logs under {settings.state_dir() / 'logs'}")
    with RegistryServer(city_dir / "registry" / "registrations.jsonl", DEMO_TOKEN) as registry:
        # The registry serves every month from here; the runner serves AMap as of each month's end.
        env.update({k: v for k, v in os.environ.items() if k.startswith(("AIRFLOW_CONN_", "LIFECIRCLE_"))})
        env["AIRFLOW_CONN_REGISTRY_API"] = f"http://:{DEMO_TOKEN}@127.0.0.1:{registry.port}"
        env["LIFECIRCLE_AMAP_KEY"] = DEMO_KEY
        run_months(months, env, amap_data=city_dir / "amap" / "pois.jsonl", uploads_seed=seed)
    report = settings.reports_dir() / str(months[-1]) / "report.html"
    _say("")
    _say(f"report:    {report}")
    _say(f"warehouse: {os.environ['AIRFLOW_CONN_WAREHOUSE_DEFAULT']}  (psql \"{_psql_uri()}\")")
    for table, (rows, digest) in checksums(get_engine()).items():
        _say(f"  {table:36s} {rows:8d} rows  md5 {digest}")
    return 0


def _check_order(months: list[Month]) -> None:
    """Registrations load incrementally from the latest earlier load's watermark, so a
    month never loaded cannot be slotted in before months already loaded (its window would
    overlap theirs). Re-running loaded months, or going on after the latest, is fine."""
    import sqlalchemy as sa

    from lifecircle.warehouse.engine import get_engine

    try:
        with get_engine().connect() as conn:
            loaded = set(conn.execute(sa.text("SELECT period FROM raw.load WHERE source = 'registrations'")).scalars())
    except sa.exc.ProgrammingError:  # not migrated yet: nothing loaded
        return
    if not loaded:
        return
    latest = max(loaded)
    early = [str(m) for m in months if str(m) not in loaded and str(m) < latest]
    if early:
        raise SystemExit(f"cannot back-fill {early[0]}: the warehouse already holds later months (up to {latest}) "
                         f"and registrations load incrementally. Start from an empty warehouse (a new "
                         f"LIFECIRCLE_STATE_DIR) or run months after {latest}.")


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


def cmd_templates(args) -> int:
    """Blank annex-5 forms (one per circle) and task-progress sheets (one per unit)."""
    from lifecircle.surveys.templates import write_templates

    from datetime import datetime

    from lifecircle.period import REPORT_TZ, reporting_month

    # the CLI is an entry point, not a transform: the clock only picks the default period
    period = args.period or str(reporting_month(datetime.now(REPORT_TZ)))
    summary = write_templates(period, args.out, args.city)
    _say(f"{summary['annex5']} annex-5 forms and {summary['task_progress']} task-progress sheets "
         f"for {summary['period']} written to {summary['folder']}")
    if summary["units_without_tasks"]:
        _say(f"units without tasks (no sheet): {', '.join(summary['units_without_tasks'])}")
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
    p = sub.add_parser("backfill", help="run the sample city's monthly cycle for every month from --from to --to")
    p.add_argument("--from", dest="start", required=True, help="first month YYYY-MM")
    p.add_argument("--to", dest="end", required=True, help="last month YYYY-MM (its report is printed)")
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
    p = sub.add_parser("templates", help="write blank annex-5 forms per circle and task-progress sheets per unit")
    p.add_argument("--period", help="reporting month YYYY-MM (default: last month)")
    p.add_argument("--out", help="folder (default: <reports>/templates/<period>/)")
    p.add_argument("--city", help="city configuration (default: LIFECIRCLE_CITY)")
    p.set_defaults(func=cmd_templates)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
