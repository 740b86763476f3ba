"""Coverage indicators: walking distances and indicators per month, when all sources updated."""
from airflow.sdk import dag

from lifecircle_common import ASSETS, DEFAULT_ARGS, PARAMS, START, pipeline, step


@dag(dag_id="lifecircle_coverage", schedule=[ASSETS["registrations"], ASSETS["pois"], ASSETS["surveys"]],
     start_date=START, catchup=False, default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1,
     tags=["lifecircle", "coverage"], doc_md=__doc__)
def lifecircle_coverage():
    pipeline(step("compute", "lifecircle.coverage.run:compute", outlet=ASSETS["coverage"]))


lifecircle_coverage()
