"""The uploads watcher: announces asset ``lifecircle_uploads_landed`` (extra period) only
when the landing area holds files the period has not received; the surveys DAG runs on
that asset OR its monthly cron, and writes the templates after publishing."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
PERIOD = "2031-05"  # a month no other test uses
URI = "lifecircle://landing/uploads"


@pytest.fixture(scope="module")
def bag():
    """The DAG folder parsed with production defaults (retries as deployed)."""
    from airflow.dag_processing.dagbag import DagBag

    saved = os.environ.pop("LIFECIRCLE_TASK_RETRIES", None)
    sys.modules.pop("lifecircle_common", None)
    try:
        return DagBag(str(DAGS_DIR))
    finally:
        sys.modules.pop("lifecircle_common", None)
        if saved is not None:
            os.environ["LIFECIRCLE_TASK_RETRIES"] = saved


def test_watcher_is_wired_every_15_minutes_without_catchup(bag):
    assert bag.import_errors == {}
    dag = bag.dags["lifecircle_uploads_watch"]
    assert dag.timetable._expression == "*/15 * * * *" and dag.catchup is False
    assert "lifecircle" in dag.tags and len(dag.tags) >= 2
    assert all(t.retries >= 2 for t in dag.tasks)
    announce = dag.get_task("announce")
    assert [a.uri for a in announce.outlets] == [URI]
    assert dag.get_task("new_files").upstream_task_ids == {"period"}
    assert announce.upstream_task_ids == {"period", "new_files"}


def test_surveys_run_on_the_asset_or_the_monthly_cron_and_write_templates(bag):
    dag = bag.dags["lifecircle_surveys"]
    timetable = dag.timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assert [a.uri for a in timetable.asset_condition.objects] == [URI]
    assert timetable.timetable._expression == "0 2 1 * *"
    assert dag.get_task("templates").upstream_task_ids == {"period", "publish"}
    assert [a.uri for a in dag.get_task("publish").outlets] == ["lifecircle://warehouse/core/circle_survey"]


def _events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(AssetEvent.extra).join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                               .where(AssetModel.uri == URI)).scalars().all()
    return [dict(r) for r in rows]


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def test_announces_only_when_something_new_landed(bag, airflow_db, warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LIFECIRCLE_LANDING_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_UPLOADS_BUCKET", raising=False)
    dag = bag.get_dag("lifecircle_uploads_watch")
    before = len(_events())

    quiet = dag.test(run_conf={"month": PERIOD})
    assert _states(quiet)["announce"] == "skipped"
    assert len(_events()) == before

    (tmp_path / "progress.csv").write_text("任务编号,进展状态\nA3-01,推进中\n", encoding="utf-8")
    busy = dag.test(run_conf={"month": PERIOD})
    assert _states(busy)["announce"] == "success"
    events = _events()
    assert len(events) == before + 1 and events[-1] == {"period": PERIOD, "files": 1}
