"""Connections from AIRFLOW_CONN_* environment variables, read without Airflow."""
import json

import pytest

from lifecircle.settings import Connection, ConnectionMissing, get_connection, warehouse_url


def test_uri_form_decodes_password(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REGISTRY_API", "http://:tok%2Fen@127.0.0.1:8080")
    conn = get_connection("registry_api")
    assert conn == Connection("registry_api", "http", "127.0.0.1", 8080, None, "tok/en", None, {})
    assert conn.password == "tok/en"
    assert conn.login is None
    assert conn.base_url == "http://127.0.0.1:8080"


def test_uri_form_all_parts(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOME_API", "https://us%40er:p%40ss@api.example.cn:8443/v1/base?scheme=https&timeout=5")
    conn = get_connection("some_api")
    assert conn.conn_type == "https"
    assert conn.host == "api.example.cn"
    assert conn.port == 8443
    assert conn.login == "us@er"
    assert conn.password == "p@ss"
    assert conn.schema == "v1/base"
    assert conn.extra == {"scheme": "https", "timeout": "5"}
    assert conn.base_url == "https://api.example.cn:8443/v1/base"


def test_conn_id_is_upper_cased_for_the_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AMAP_DEFAULT", "http://:k@localhost:9000")
    assert get_connection("amap_default").password == "k"


def test_json_form(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AMAP", json.dumps({
        "conn_type": "http", "host": "restapi.amap.com", "port": 443, "login": None,
        "password": "key123", "schema": "v5", "extra": {"scheme": "https"},
    }))
    conn = get_connection("amap")
    assert conn == Connection("amap", "http", "restapi.amap.com", 443, None, "key123", "v5", {"scheme": "https"})
    assert conn.base_url == "https://restapi.amap.com:443/v5"


def test_json_form_with_extra_as_string(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AMAP", '  {"conn_type": "http", "host": "h", "extra": "{\\"scheme\\": \\"https\\"}"}  ')
    conn = get_connection("amap")
    assert conn.extra == {"scheme": "https"}
    assert conn.port is None
    assert conn.base_url == "https://h"


def test_missing_variable_names_the_env_var(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_REGISTRY_API", raising=False)
    with pytest.raises(ConnectionMissing) as exc:
        get_connection("registry_api")
    assert "AIRFLOW_CONN_REGISTRY_API" in str(exc.value)
    assert "'registry_api'" in str(exc.value)


def test_empty_variable_counts_as_missing(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REGISTRY_API", "")
    with pytest.raises(ConnectionMissing, match="AIRFLOW_CONN_REGISTRY_API"):
        get_connection("registry_api")


def test_password_hidden_from_repr():
    conn = Connection("x", "http", "h", password="secret")
    assert "secret" not in repr(conn)


def test_base_url_defaults():
    assert Connection("x", "http", "localhost").base_url == "http://localhost"
    assert Connection("x", "https", "localhost", 8443).base_url == "https://localhost:8443"
    assert Connection("x", "http", "h", 80, schema="api", extra={"scheme": "https"}).base_url == "https://h:80/api"


# ------------------------------------------------------------------ warehouse_url
@pytest.mark.parametrize("uri, expected", [
    ("postgres://u:p@db.local:5432/wh", "postgresql+psycopg2://u:p@db.local:5432/wh"),
    ("postgresql://u:p@db.local:5432/wh", "postgresql+psycopg2://u:p@db.local:5432/wh"),
    ("postgres://postgres@/lifecircle?host=/socket/dir", "postgresql+psycopg2://postgres@/lifecircle?host=/socket/dir"),
    ("postgresql://postgres:pw@localhost:5433/wh?host=/socket/dir",
     "postgresql+psycopg2://postgres:pw@localhost:5433/wh?host=/socket/dir"),
])
def test_warehouse_url_from_uri(monkeypatch, uri, expected):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", uri)
    assert warehouse_url() == expected


def test_warehouse_url_from_json_keeps_host_query(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps({
        "conn_type": "postgres", "host": "localhost", "port": 5432, "login": "u", "password": "p/w",
        "schema": "wh", "extra": {"host": "/socket/dir", "sslmode": "disable"},
    }))
    assert warehouse_url() == "postgresql+psycopg2://u:p%2Fw@localhost:5432/wh?host=%2Fsocket%2Fdir"


def test_warehouse_url_rejects_non_postgres(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", "mysql://u:p@h/db")
    with pytest.raises(ConnectionMissing, match="'mysql'"):
        warehouse_url()


def test_warehouse_url_missing(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", raising=False)
    with pytest.raises(ConnectionMissing, match="AIRFLOW_CONN_WAREHOUSE_DEFAULT"):
        warehouse_url()
