"""Merchant registrations (市场主体登记): registry API -> raw -> staging -> core.outlet_history."""
from airflow.sdk import dag, task, get_current_context

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_LOAD, PARAMS, START


@dag(dag_id="lifecircle_registrations", schedule=MONTHLY_LOAD, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "ingest", "registrations"],
     doc_md=__doc__)
def lifecircle_registrations():
    @task
    def period() -> str:
        from lifecircle.orchestration import period_from_context
        return period_from_context(get_current_context())

    @task
    def prepare() -> dict:
        from lifecircle.warehouse.reference import prepare as prepare_warehouse
        return prepare_warehouse()

    @task
    def extract(month: str) -> dict:
        from lifecircle.ingest.registrations import extract as run
        return run(month)

    @task
    def validate(month: str) -> dict:
        from lifecircle.ingest.registrations import validate as run
        return run(month)

    @task(outlets=[ASSETS["registrations"]])
    def publish(month: str, outlet_events=None) -> dict:
        from lifecircle.ingest.registrations import publish as run
        outlet_events[ASSETS["registrations"]].extra = {"period": month}
        return run(month)

    month = period()
    prepare() >> month
    extract(month) >> validate(month) >> publish(month)


lifecircle_registrations()
