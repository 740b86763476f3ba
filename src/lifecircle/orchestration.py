"""What DAG tasks need from a run, read from the task context without importing Airflow.

The package stays Airflow-free; these helpers only read the mapping Airflow hands a task."""
from __future__ import annotations

from lifecircle.period import resolve_month

# The monthly cycle, in the order a month's runs must go (sources, coverage, report).
DAG_ORDER = ("lifecircle_registrations", "lifecircle_pois", "lifecircle_surveys", "lifecircle_coverage",
             "lifecircle_report")

ASSET_URIS = {
    "registrations": "lifecircle://warehouse/core/outlet_history",
    "pois": "lifecircle://warehouse/core/outlet_location",
    "surveys": "lifecircle://warehouse/core/circle_survey",
    "coverage": "lifecircle://warehouse/mart/coverage_indicator",
    "report": "lifecircle://reports/monthly",
    # New survey files in the landing area (lifecircle_uploads_watch -> lifecircle_surveys);
    # not part of DAG_ORDER: it only starts the surveys DAG early.
    "uploads_landed": "lifecircle://landing/uploads",
}


def asset_periods(triggering_asset_events) -> list[str]:
    """Periods carried in the ``extra`` of the asset events that triggered a run."""
    periods = []
    for events in (triggering_asset_events or {}).values():
        for event in events:
            period = (getattr(event, "extra", None) or {}).get("period")
            if period:
                periods.append(period)
    return periods


def period_from_context(context) -> str:
    """The run's reporting month: ``month`` param, then asset events, then logical date."""
    params = context.get("params") or {}
    dag_run = context.get("dag_run")
    return str(resolve_month(
        params.get("month"),
        context.get("logical_date"),
        asset_periods(context.get("triggering_asset_events")),
        getattr(dag_run, "run_after", None),
    ))
