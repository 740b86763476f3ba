"""Run-context helpers (without Airflow) and the rule that the package never imports Airflow."""
import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from lifecircle.orchestration import ASSET_URIS, asset_periods, period_from_context

SRC = Path(__file__).resolve().parents[2] / "src" / "lifecircle"
SHANGHAI = timezone(timedelta(hours=8))


def event(extra):
    return SimpleNamespace(extra=extra)


def test_asset_periods_collects_from_every_asset():
    events = {
        ASSET_URIS["registrations"]: [event({"period": "2024-04"}), event({"period": "2024-05"})],
        ASSET_URIS["pois"]: [event({"period": "2024-03", "rows": 10})],
    }
    assert asset_periods(events) == ["2024-04", "2024-05", "2024-03"]


def test_asset_periods_skips_events_without_period():
    events = {"a": [event({}), event(None), SimpleNamespace(), event({"period": ""}), event({"period": "2024-02"})]}
    assert asset_periods(events) == ["2024-02"]


@pytest.mark.parametrize("events", [None, {}, {"a": []}])
def test_asset_periods_empty(events):
    assert asset_periods(events) == []


def test_period_from_context_param_wins():
    ctx = {"params": {"month": "2023-02"}, "logical_date": datetime(2024, 7, 15, tzinfo=SHANGHAI),
           "triggering_asset_events": {"a": [event({"period": "2024-05"})]}}
    assert period_from_context(ctx) == "2023-02"


def test_period_from_context_asset_events_latest():
    ctx = {"params": {}, "logical_date": None,
           "triggering_asset_events": {"a": [event({"period": "2024-05"})], "b": [event({"period": "2024-06"})]},
           "dag_run": SimpleNamespace(run_after=datetime(2024, 1, 15, tzinfo=SHANGHAI))}
    assert period_from_context(ctx) == "2024-06"


def test_period_from_context_logical_date():
    ctx = {"params": {"month": None}, "logical_date": datetime(2024, 1, 15, 1, 0, tzinfo=SHANGHAI)}
    assert period_from_context(ctx) == "2023-12"


def test_period_from_context_run_after_when_no_logical_date():
    ctx = {"logical_date": None, "triggering_asset_events": {},
           "dag_run": SimpleNamespace(run_after=datetime(2024, 3, 31, 17, 0, tzinfo=timezone.utc))}
    # 2024-03-31 17:00 UTC is 2024-04-01 01:00 in Shanghai -> reports March
    assert period_from_context(ctx) == "2024-03"


def test_period_from_context_nothing_is_an_error():
    with pytest.raises(ValueError, match="cannot tell the period"):
        period_from_context({"params": None, "dag_run": SimpleNamespace()})


def test_asset_uris_are_stable():
    assert ASSET_URIS == {
        "registrations": "lifecircle://warehouse/core/outlet_history",
        "pois": "lifecircle://warehouse/core/outlet_location",
        "surveys": "lifecircle://warehouse/core/circle_survey",
        "coverage": "lifecircle://warehouse/mart/coverage_indicator",
        "report": "lifecircle://reports/monthly",
        "uploads_landed": "lifecircle://landing/uploads",
    }


# ------------------------------------------------------------------ never import airflow
def airflow_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "airflow" or a.name.startswith("airflow.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "airflow" or node.module.startswith("airflow."):
                found.append(node.module)
    return found


def test_detector_finds_airflow_imports():
    assert airflow_imports("import airflow") == ["airflow"]
    assert airflow_imports("import os, airflow.models as m") == ["airflow.models"]
    assert airflow_imports("def f():\n    from airflow.sdk import dag\n") == ["airflow.sdk"]
    assert airflow_imports("if True:\n    from airflow import DAG\n") == ["airflow"]
    assert airflow_imports("import airflowish\nfrom .airflow import x\nfrom airflow_helpers import y") == []


def test_package_never_imports_airflow():
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 20
    offenders = {str(p.relative_to(SRC)): found for p in files
                 if (found := airflow_imports(p.read_text(encoding="utf-8")))}
    assert offenders == {}
