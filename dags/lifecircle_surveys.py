"""Survey uploads: annex-5 forms and satisfaction exports from the landing folder -> core."""
from airflow.sdk import dag

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_LOAD, PARAMS, START, pipeline, step

MODULE = "lifecircle.ingest.uploads"


@dag(dag_id="lifecircle_surveys", schedule=MONTHLY_LOAD, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "ingest", "surveys"],
     doc_md=__doc__)
def lifecircle_surveys():
    pipeline(step("ingest", f"{MODULE}:ingest"),
             step("publish", f"{MODULE}:publish", outlet=ASSETS["surveys"]))


lifecircle_surveys()
