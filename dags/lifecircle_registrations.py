"""Merchant registrations (市场主体登记): registry API pages and/or bulk CSV/XLSX exports
-> Parquet raw landing -> raw.registration (COPY) -> row rules + GX -> staging /
quarantine -> core.outlet_history (SCD2).

extract reads the API when connection ``registry_api`` (AIRFLOW_CONN_REGISTRY_API) is
set and every not-yet-imported export in the exports folder
(LIFECIRCLE_REGISTRATION_EXPORTS_DIR, default <landing>/registrations); see
docs/registrations.md."""
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
