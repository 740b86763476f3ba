"""Monthly progress report, on the 15th at 09:00 Asia/Shanghai, for the previous month."""
from airflow.sdk import dag

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_REPORT, PARAMS, START, pipeline, step

MODULE = "lifecircle.report.build"


@dag(dag_id="lifecircle_report", schedule=MONTHLY_REPORT, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "report"],
     doc_md=__doc__)
def lifecircle_report():
    pipeline(step("progress", f"{MODULE}:progress"),
             step("render", f"{MODULE}:render", outlet=ASSETS["report"]),
             with_prepare=False)


lifecircle_report()
