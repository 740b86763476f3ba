"""Shared DAG wiring: defaults, schedules, assets. Imported by every lifecircle DAG file."""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param
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
