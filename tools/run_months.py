"""Run the lifecircle DAGs for a list of months in ONE process (back-fills, the demo).

    python tools/run_months.py 2024-04 2024-05 2024-06 [--dags a,b,...]
        [--amap-data pois.jsonl] [--sample-uploads SEED]

Outside the package because it imports Airflow. It sets up nothing itself: Airflow's
home/DAG folder, the warehouse and the source connections come from the environment the
CLI (``lifecircle demo`` / ``lifecircle backfill``) or the tests prepared
(``AIRFLOW_HOME``, ``AIRFLOW__CORE__DAGS_FOLDER``, ``AIRFLOW_CONN_*``, ``LIFECIRCLE_*``).
One DagBag is parsed once; then for each month each DAG runs in order with
``dag.test(run_conf={"month": m})`` — no ~20 s Airflow start-up per DAG.

Two optional per-month helpers, because they must change between months:

* ``--amap-data FILE``: serve the fake AMap (``lifecircle.devservers``) from this process,
  key from ``LIFECIRCLE_AMAP_KEY``, showing the world as of each month's last day (one
  server; its ``as_of`` is moved before each month), and point ``AIRFLOW_CONN_AMAP_API``
  at it.
* ``--sample-uploads SEED``: drop the sample city's survey files for the month into the
  landing folder before the month's runs (``lifecircle.cli.drop_sample_uploads``).

Output: one line per DAG run on stdout (``2024-05 lifecircle_pois ok 3.2s``). Airflow's
own output (task logs included) goes to ``<state>/logs/<month>/<dag_id>.log``. The first
failed run stops everything: a message naming month, DAG, failed tasks and the log on
stderr, exit status 1 (also for DAG import errors; 2 for bad arguments).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from lifecircle.orchestration import DAG_ORDER


class RunFailed(Exception):
    pass


@contextlib.contextmanager
def redirected(log_path: Path):
    """Send everything written to fd 1 and 2 (Python, C extensions, child processes) to
    ``log_path`` while inside; the caller keeps the real terminal through ``_Console``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class _Console:
    """The terminal as it was when the runner started (before any redirection)."""

    def __init__(self) -> None:
        self.out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
        self.err = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")

    def say(self, msg: str) -> None:
        print(msg, file=self.out, flush=True)

    def error(self, msg: str) -> None:
        print(msg, file=self.err, flush=True)


def _failed_tasks(dag_run) -> list[str]:
    try:
        return sorted(f"{ti.task_id} ({ti.state})" for ti in dag_run.get_task_instances()
                      if str(ti.state) in ("failed", "upstream_failed", "TaskInstanceState.FAILED"))
    except Exception:  # noqa: BLE001 - best effort, the log has the detail
        return []


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def load_dags(dag_ids: list[str]) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if not folder:
        raise RunFailed("AIRFLOW__CORE__DAGS_FOLDER is not set (run through `lifecircle demo/backfill`)")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    bag = DagBag(folder)  # examples off via AIRFLOW__CORE__LOAD_EXAMPLES
    if bag.import_errors:
        raise RunFailed("DAG import errors:\n" + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
    missing = [d for d in dag_ids if bag.get_dag(d) is None]
    if missing:
        raise RunFailed(f"DAGs not found in {folder}: {', '.join(missing)}")
    return {d: bag.get_dag(d) for d in dag_ids}


def run_months(months: list[str], dag_ids: list[str], console: _Console, *, amap_data: str | None = None,
               uploads_seed: int | None = None) -> None:
    from lifecircle import settings
    from lifecircle.period import Month

    parsed = [Month.parse(m) for m in months]
    logs = settings.state_dir() / "logs"
    with redirected(logs / "runner.log"):
        dags = load_dags(dag_ids)
    with contextlib.ExitStack() as stack:
        amap = None
        if amap_data:
            from lifecircle.devservers import AmapServer

            key = os.environ.get("LIFECIRCLE_AMAP_KEY") or "dev-key"
            amap = stack.enter_context(AmapServer(amap_data, key))
            os.environ["AIRFLOW_CONN_AMAP_API"] = f"http://:{key}@127.0.0.1:{amap.port}"
        for month in parsed:
            m = str(month)
            if amap is not None:
                amap.as_of = month.end.isoformat()  # read per query: the world as of the month's end
            if uploads_seed is not None:
                from lifecircle.cli import drop_sample_uploads

                with redirected(logs / m / "uploads.log"):
                    drop_sample_uploads(month, uploads_seed)
            for dag_id, dag in dags.items():
                log_path = logs / m / f"{dag_id}.log"
                log_path.unlink(missing_ok=True)
                start = time.monotonic()
                error, dag_run = None, None
                with redirected(log_path):
                    print(f"=== {dag_id} month={m} ===", flush=True)
                    try:
                        dag_run = dag.test(run_conf={"month": m})
                    except Exception as exc:  # noqa: BLE001 - reported below with the log
                        import traceback

                        traceback.print_exc()
                        error = f"{type(exc).__name__}: {exc}"
                    if dag_run is not None and str(getattr(dag_run.state, "value", dag_run.state)) != "success":
                        failed = _failed_tasks(dag_run)
                        error = f"run state {getattr(dag_run.state, 'value', dag_run.state)}" + (
                            f"; failed tasks: {', '.join(failed)}" if failed else "")
                took = time.monotonic() - start
                if error:
                    console.say(f"{m} {dag_id} FAILED {took:.1f}s")
                    raise RunFailed(f"{dag_id} failed for month {m} after {took:.1f}s: {error}\n"
                                    f"task log: {log_path}\n--- last lines ---\n{_tail(log_path)}")
                console.say(f"{m} {dag_id} ok {took:.1f}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="run_months.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("months", nargs="+", help="months YYYY-MM, run in the order given")
    ap.add_argument("--dags", default=",".join(DAG_ORDER), help="comma-separated DAG ids, run in this order")
    ap.add_argument("--amap-data", help="pois.jsonl to serve as the fake AMap, as of each month's end")
    ap.add_argument("--sample-uploads", type=int, metavar="SEED",
                    help="drop the sample city's survey files for each month before its runs")
    args = ap.parse_args(argv)
    console = _Console()
    try:
        from lifecircle.period import Month

        for m in args.months:
            Month.parse(m)
    except ValueError as exc:
        console.error(f"run_months: {exc}")
        return 2
    os.environ.setdefault("LIFECIRCLE_TASK_RETRIES", "0")
    try:
        run_months(args.months, [d for d in args.dags.split(",") if d], console,
                   amap_data=args.amap_data, uploads_seed=args.sample_uploads)
    except RunFailed as exc:
        console.error(f"run_months: {exc}")
        return 1
    except Exception:  # noqa: BLE001 - a runner bug or a broken environment: say so, non-zero
        import traceback

        console.error("run_months: unexpected error\n" + traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
