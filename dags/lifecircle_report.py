"""Monthly progress report, on the 15th at 09:00 Asia/Shanghai, for the previous month."""
from airflow.sdk import dag, task, get_current_context

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_REPORT, PARAMS, START


@dag(dag_id="lifecircle_report", schedule=MONTHLY_REPORT, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "report"],
     doc_md=__doc__)
def lifecircle_report():
    @task
    def period() -> str:
        from lifecircle.orchestration import period_from_context
        return period_from_context(get_current_context())

    @task
    def progress(month: str) -> dict:
        from lifecircle.report.build import progress as run
        return run(month)

    @task(outlets=[ASSETS["report"]])
    def render(month: str, outlet_events=None) -> dict:
        from lifecircle.report.build import render as run
        outlet_events[ASSETS["report"]].extra = {"period": month}
        return run(month)

    month = period()
    progress(month) >> render(month)


lifecircle_report()
