"""Watch the survey landing area (folder or bucket) every 15 minutes; when files have
landed that the period has not received yet, announce them with asset
``lifecircle_uploads_landed`` (extra ``{"period", "files"}``), which starts
``lifecircle_surveys`` without waiting for the monthly run. Nothing new: the announce
task is skipped and no asset event is emitted."""
from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from lifecircle_common import ASSETS, DEFAULT_ARGS, PARAMS, START, TZ, period

WATCH_EVERY = CronTriggerTimetable("*/15 * * * *", timezone=TZ)


@task.short_circuit
def new_files(month: str) -> list[str]:
    """Names of the files not yet received for the period (empty = skip the announcement)."""
    from lifecircle.ingest.uploads import pending

    found = pending(month)
    print(f"{found['landing']}: {found['files']} files, {len(found['pending'])} new for {month}: {found['pending']}")
    return found["pending"]


@task(outlets=[ASSETS["uploads_landed"]])
def announce(month: str, names: list[str], outlet_events=None) -> dict:
    outlet_events[ASSETS["uploads_landed"]].extra = {"period": month, "files": len(names)}
    return {"period": month, "files": names}


@dag(dag_id="lifecircle_uploads_watch", schedule=WATCH_EVERY, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "ingest", "surveys"],
     doc_md=__doc__)
def lifecircle_uploads_watch():
    month = period()
    announce(month, new_files(month))


lifecircle_uploads_watch()
