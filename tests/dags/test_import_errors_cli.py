"""`airflow dags list-import-errors` is empty after Airflow itself parses the DAG folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.airflow
def test_airflow_reports_no_import_errors(airflow_db):
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = dict(os.environ)
    env.pop("LIFECIRCLE_TASK_RETRIES", None)
    subprocess.run([airflow, "dags", "reserialize"], check=True, env=env, capture_output=True, timeout=300)
    listed = subprocess.run([airflow, "dags", "list", "-o", "json"], check=True, env=env, capture_output=True,
                            text=True, timeout=300)
    errors = subprocess.run([airflow, "dags", "list-import-errors", "-o", "json"], check=True, env=env,
                            capture_output=True, text=True, timeout=300)
    dag_ids = {d["dag_id"] for d in _json_output(listed.stdout)}
    assert {"lifecircle_registrations", "lifecircle_report"} <= dag_ids
    assert _json_output(errors.stdout) == []


def _json_output(stdout: str):
    """The JSON document in the CLI's stdout (Airflow may print warnings before it)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("[", "{")))
    return json.loads("\n".join(lines[start:]))
