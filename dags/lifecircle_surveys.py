"""Survey uploads: annex-5 forms and satisfaction exports from the landing folder -> core."""
from airflow.sdk import dag, task, get_current_context

from lifecircle_common import ASSETS, DEFAULT_ARGS, MONTHLY_LOAD, PARAMS, START


@dag(dag_id="lifecircle_surveys", schedule=MONTHLY_LOAD, start_date=START, catchup=False,
     default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1, tags=["lifecircle", "ingest", "surveys"],
     doc_md=__doc__)
def lifecircle_surveys():
    @task
    def period() -> str:
        from lifecircle.orchestration import period_from_context
        return period_from_context(get_current_context())

    @task
    def prepare() -> dict:
        from lifecircle.warehouse.reference import prepare as prepare_warehouse
        return prepare_warehouse()

    @task
    def ingest(month: str) -> dict:
        from lifecircle.ingest.uploads import ingest as run
        return run(month)

    @task(outlets=[ASSETS["surveys"]])
    def publish(month: str, outlet_events=None) -> dict:
        from lifecircle.ingest.uploads import publish as run
        outlet_events[ASSETS["surveys"]].extra = {"period": month}
        return run(month)

    month = period()
    prepare() >> month
    ingest(month) >> publish(month)


lifecircle_surveys()
