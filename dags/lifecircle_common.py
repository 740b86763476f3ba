"""Shared DAG wiring: defaults, schedules, assets. Imported by every lifecircle DAG file."""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from lifecircle.orchestration import ASSET_URIS

TZ = "Asia/Shanghai"
START = pendulum.datetime(2023, 9, 1, tz=TZ)
# LIFECIRCLE_TASK_RETRIES lets the embedded one-shot run fail fast; production keeps 2.
DEFAULT_ARGS = {"owner": "lifecircle", "retries": int(os.environ.get("LIFECIRCLE_TASK_RETRIES", "2")), "retry_delay": timedelta(minutes=5),
                "retry_exponential_backoff": True}
# Sources load the previous month on the 1st; the report runs on the 15th (plan 七(四)).
MONTHLY_LOAD = CronTriggerTimetable("0 2 1 * *", timezone=TZ)
MONTHLY_REPORT = CronTriggerTimetable("0 9 15 * *", timezone=TZ)
PARAMS = {"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                         description="Reporting month YYYY-MM; empty = the month before the run date")}
ASSETS = {name: Asset(name=f"lifecircle_{name}", uri=uri) for name, uri in ASSET_URIS.items()}


@task
def period() -> str:
    """The run's reporting month (param, triggering asset events, or logical date)."""
    from airflow.sdk import get_current_context

    from lifecircle.orchestration import period_from_context
    return period_from_context(get_current_context())


@task
def prepare() -> dict:
    """Migrate the warehouse and refresh reference tables, so any DAG can run first."""
    from lifecircle.warehouse.reference import prepare as prepare_warehouse
    return prepare_warehouse()


def step(task_id: str, target: str, outlet: Asset | None = None):
    """A task calling ``package.module:function(month)``; a publishing step also stamps
    its asset event with the period, which the asset-triggered DAG downstream reads."""

    @task(task_id=task_id, outlets=[outlet] if outlet is not None else [])
    def run(month: str, outlet_events=None) -> dict:
        import importlib

        module, function = target.split(":")
        if outlet is not None:
            outlet_events[outlet].extra = {"period": month}
        return getattr(importlib.import_module(module), function)(month)

    return run


def pipeline(*steps, with_prepare: bool = True):
    """period (after prepare) -> steps, in order, each given the period."""
    month = period()
    if with_prepare:
        prepare() >> month
    tasks = [s(month) for s in steps]
    for upstream, downstream in zip(tasks, tasks[1:]):
        upstream >> downstream
    return tasks
