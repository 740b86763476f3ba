"""Merchant registrations (市场主体登记): registry API -> raw -> staging -> core.outlet_history."""
from airflow.sdk import dag

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_LOAD, PARAMS, START, pipeline, step

MODULE = "lifecircle.ingest.registrations"


@dag(dag_id="lifecircle_registrations", schedule=MONTHLY_LOAD, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "ingest", "registrations"],
     doc_md=__doc__)
def lifecircle_registrations():
    pipeline(step("extract", f"{MODULE}:extract"),
             step("validate", f"{MODULE}:validate"),
             step("geocode", "lifecircle.ingest.geocoding:geocode"),
             step("publish", f"{MODULE}:publish", outlet=ASSETS["registrations"]))


lifecircle_registrations()
