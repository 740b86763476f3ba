"""Coverage indicators: walking distances and indicators per month, when all sources updated."""
from airflow.sdk import dag, task, get_current_context

from lifecircle_common import ASSETS, DEFAULT_ARGS, PARAMS, START


@dag(dag_id="lifecircle_coverage", schedule=[ASSETS["registrations"], ASSETS["pois"], ASSETS["surveys"]],
     start_date=START, catchup=False, default_args=DEFAULT_ARGS, params=PARAMS, max_active_runs=1,
     tags=["lifecircle", "coverage"], doc_md=__doc__)
def lifecircle_coverage():
    @task
    def period() -> str:
        from lifecircle.orchestration import period_from_context
        return period_from_context(get_current_context())

    @task
    def prepare() -> dict:
        from lifecircle.warehouse.reference import prepare as prepare_warehouse
        return prepare_warehouse()

    @task(outlets=[ASSETS["coverage"]])
    def compute(month: str, outlet_events=None) -> dict:
        from lifecircle.coverage.run import compute as run
        outlet_events[ASSETS["coverage"]].extra = {"period": month}
        return run(month)

    month = period()
    prepare() >> month
    compute(month)


lifecircle_coverage()
