"""Where things are, and how to reach the outside world.

Connections come from ``AIRFLOW_CONN_<ID>`` environment variables (URI or JSON form),
read here without importing Airflow, so the same code runs inside a task, from the CLI
and in tests.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit


def repo_root() -> Path:
    """The project checkout (``LIFECIRCLE_HOME`` overrides, e.g. in a container image)."""
    env = os.environ.get("LIFECIRCLE_HOME")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def _folder(env_var: str, default) -> Path:
    """``$env_var`` if set, else ``default()``; created on first use."""
    env = os.environ.get(env_var)
    path = Path(env) if env else default()
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    """Working state of the embedded default (warehouse data, landing area, reports)."""
    return _folder("LIFECIRCLE_STATE_DIR", lambda: repo_root() / ".lifecircle")


def sql_dir() -> Path:
    return repo_root() / "include" / "sql"


def expectations_dir() -> Path:
    return repo_root() / "expectations"


def reports_dir() -> Path:
    return _folder("LIFECIRCLE_REPORTS_DIR", lambda: state_dir() / "reports")


def landing_dir() -> Path:
    """Folder the survey-uploads DAG picks files up from (``LIFECIRCLE_LANDING_DIR``)."""
    return _folder("LIFECIRCLE_LANDING_DIR", lambda: state_dir() / "landing")


def upload_store_dir() -> Path:
    """Immutable copies of every uploaded file, named by content hash."""
    return _folder("LIFECIRCLE_UPLOAD_STORE", lambda: state_dir() / "upload_store")


def city() -> str:
    return os.environ.get("LIFECIRCLE_CITY", "tianshui")


class ConnectionMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Connection:
    """The parts of an Airflow connection the pipeline uses."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        scheme = self.extra.get("scheme") or ("https" if self.conn_type == "https" else "http")
        port = f":{self.port}" if self.port else ""
        path = f"/{self.schema}" if self.schema else ""
        return f"{scheme}://{self.host}{port}{path}"


def get_connection(conn_id: str) -> Connection:
    """Parse ``AIRFLOW_CONN_<CONN_ID>`` the way Airflow does (URI or JSON)."""
    var = f"AIRFLOW_CONN_{conn_id.upper()}"
    raw = os.environ.get(var)
    if not raw:
        raise ConnectionMissing(f"connection {conn_id!r} is not configured: set {var} (see .env.example)")
    raw = raw.strip()
    if raw.startswith("{"):
        data = json.loads(raw)
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return Connection(conn_id, data.get("conn_type", ""), data.get("host"), data.get("port"),
                          data.get("login"), data.get("password"), data.get("schema"), extra)
    parts = urlsplit(raw)
    extra = dict(parse_qsl(parts.query))
    return Connection(
        conn_id,
        parts.scheme.replace("-", "_"),
        unquote(parts.hostname) if parts.hostname else None,
        parts.port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        unquote(parts.path.lstrip("/")) or None,
        extra,
    )


def warehouse_url() -> str:
    """SQLAlchemy URL of the warehouse, from connection ``warehouse_default``."""
    conn = get_connection("warehouse_default")
    if conn.conn_type not in ("postgres", "postgresql"):
        raise ConnectionMissing(f"warehouse_default must be a PostgreSQL connection, got {conn.conn_type!r}")
    raw = os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"].strip()
    if raw.startswith("{"):
        from sqlalchemy.engine import URL

        return URL.create("postgresql+psycopg2", conn.login, conn.password, conn.host, conn.port,
                          conn.schema, query={k: v for k, v in conn.extra.items() if k == "host"}
                          ).render_as_string(hide_password=False)
    return "postgresql+psycopg2://" + raw.split("://", 1)[1]
