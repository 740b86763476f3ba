"""Survey uploads: annex-5 forms, satisfaction exports and task-progress reports from the
landing area (folder or bucket) -> core; then the blank templates for the next round.

Runs on the monthly load schedule OR as soon as ``lifecircle_uploads_watch`` announces new
files (asset ``lifecircle_uploads_landed``, whose event carries the period)."""
from airflow.sdk import AssetOrTimeSchedule, dag

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_LOAD, PARAMS, START, pipeline, step

MODULE = "lifecircle.ingest.uploads"


@dag(dag_id="lifecircle_surveys",
     schedule=AssetOrTimeSchedule(timetable=MONTHLY_LOAD, assets=[ASSETS["uploads_landed"]]),
     start_date=START, catchup=False, default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1,
     tags=["lifecircle", "ingest", "surveys"], doc_md=__doc__)
def lifecircle_surveys():
    pipeline(step("ingest", f"{MODULE}:ingest"),
             step("publish", f"{MODULE}:publish", outlet=ASSETS["surveys"]),
             step("templates", "lifecircle.surveys.templates:write_templates"))


lifecircle_surveys()
