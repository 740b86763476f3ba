"""Map POIs: whole-city AMap harvest -> raw -> staging -> core.outlet_location."""
from airflow.sdk import dag

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_LOAD, PARAMS, START, pipeline, step

MODULE = "lifecircle.ingest.pois"


@dag(dag_id="lifecircle_pois", schedule=MONTHLY_LOAD, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "ingest", "pois"],
     doc_md=__doc__)
def lifecircle_pois():
    pipeline(step("extract", f"{MODULE}:extract"),
             step("validate", f"{MODULE}:validate"),
             step("publish", f"{MODULE}:publish", outlet=ASSETS["pois"]))


lifecircle_pois()
