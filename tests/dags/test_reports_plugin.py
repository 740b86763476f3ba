"""The reports plugin (plugins/lifecircle_reports_plugin.py): its FastAPI app on a temp
reports folder, and Airflow's own plugin loading / api-server mounting of it."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
PLUGIN_FILE = PLUGINS / "lifecircle_reports_plugin.py"


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("lifecircle_reports_plugin_under_test", PLUGIN_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def reports(tmp_path, monkeypatch):
    root = tmp_path / "reports"
    for month, title in (("2024-04", "April"), ("2024-05", "May")):
        (root / month).mkdir(parents=True)
        (root / month / "report.html").write_text(f"<html><body><h1>{title} report 报告</h1></body></html>",
                                                  encoding="utf-8")
    (root / "2024-06").mkdir()                       # no report yet: not listed
    (root / "2024-13").mkdir()                       # not a month
    (root / "2024-13" / "report.html").write_text("bad")
    (root / "latest").mkdir()
    (root / "latest" / "report.html").write_text("bad")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (root / "secret.txt").write_text("TOP SECRET")
    monkeypatch.setenv("LIFECIRCLE_REPORTS_DIR", str(root))
    return root


@pytest.fixture
def client(plugin, reports):
    plugin.app.dependency_overrides[plugin.require_login] = lambda: None   # logged in
    try:
        yield TestClient(plugin.app)
    finally:
        plugin.app.dependency_overrides.clear()


def test_index_lists_months_newest_first(client):
    r = client.get("/")
    assert r.status_code == 200
    page = r.text
    assert 'href="2024-05/report.html"' in page and 'href="2024-04/report.html"' in page
    assert page.index("2024-05/report.html") < page.index("2024-04/report.html")
    for absent in ("2024-06", "2024-13", "latest", "data-docs"):
        assert absent not in page


def test_report_is_served(client):
    r = client.get("/2024-05/report.html")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "May report 报告" in r.text
    r = client.get("/2024-04", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "2024-04/report.html"


@pytest.mark.parametrize("path", [
    "/2024-13/report.html",
    "/latest/report.html",
    "/2024-06/report.html",
    "/2024-5/report.html",
    "/../secret.txt",
    "/%2E%2E/secret.txt",
    "/..%2Fsecret.txt",
    "/..%2F..%2Fsecret.txt/report.html",
    "/2024-05%2F..%2F..%2Fsecret.txt",
    "/2024-05/..%2F..%2Fsecret.txt",
    "/2024-05/../secret.txt",
    "/secret.txt",
    "/2024-05/secret.txt",
    "/data-docs",
    "/data-docs/index.html",
    "/2024-05%0A/report.html",
    "/%D9%A2%D9%A0%D9%A2%D9%A4-05/report.html",
])
def test_bad_paths_are_404(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert "TOP SECRET" not in r.text


def test_data_docs_when_present(client, reports):
    docs = reports / "data_docs" / "local_site"
    (docs / "validations").mkdir(parents=True)
    (docs / "index.html").write_text("<h1>GX data docs</h1>")
    (docs / "validations" / "run.html").write_text("<p>run</p>")
    page = client.get("/").text
    assert 'href="data-docs/local_site/index.html"' in page
    r = client.get("/data-docs", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "data-docs/local_site/index.html"
    assert "GX data docs" in client.get("/data-docs/local_site/index.html").text
    assert "GX data docs" in client.get("/data-docs/local_site/").text
    assert client.get("/data-docs/local_site/validations/run.html").text == "<p>run</p>"
    for bad in ("/data-docs/..%2Fsecret.txt", "/data-docs/local_site/..%2F..%2F..%2Fsecret.txt",
                "/data-docs/%2E%2E/%2E%2E/secret.txt", "/data-docs/missing.html", "/data-docs/a%00b"):
        r = client.get(bad)
        assert r.status_code == 404, bad
        assert "TOP SECRET" not in r.text


def test_data_docs_symlink_out_is_refused(client, reports, tmp_path):
    (reports / "data_docs").mkdir()
    (reports / "data_docs" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    assert client.get("/data-docs/leak.txt").status_code == 404


def test_default_folder_follows_state_dir(plugin, tmp_path, monkeypatch):
    monkeypatch.delenv("LIFECIRCLE_REPORTS_DIR", raising=False)
    monkeypatch.setenv("LIFECIRCLE_STATE_DIR", str(tmp_path / "state"))
    assert plugin.reports_root() == tmp_path / "state" / "reports"
    monkeypatch.delenv("LIFECIRCLE_STATE_DIR")
    monkeypatch.setenv("LIFECIRCLE_HOME", str(tmp_path / "home"))
    assert plugin.reports_root() == tmp_path / "home" / ".lifecircle" / "reports"


def test_empty_folder(plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("LIFECIRCLE_REPORTS_DIR", str(tmp_path / "does-not-exist"))
    plugin.app.dependency_overrides[plugin.require_login] = lambda: None
    try:
        r = TestClient(plugin.app).get("/")
    finally:
        plugin.app.dependency_overrides.clear()
    assert r.status_code == 200 and "No reports yet" in r.text
    assert not (tmp_path / "does-not-exist").exists()   # a read-only view creates nothing


def test_login_required(plugin, reports):
    plugin.app.dependency_overrides.clear()
    c = TestClient(plugin.app)
    assert c.get("/").status_code == 401
    assert c.get("/2024-05/report.html").status_code == 401


def test_plugin_declaration(plugin):
    (app_spec,) = plugin.LifecircleReportsPlugin.fastapi_apps
    assert app_spec["app"] is plugin.app
    prefix = app_spec["url_prefix"]
    assert prefix.startswith("/") and not prefix.endswith("/")
    # The api-server refuses these prefixes (airflow.api_fastapi.app.RESERVED_URL_PREFIXES).
    assert not any(prefix.startswith(p) for p in ("/api/v2", "/ui", "/execution", "/auth", "/pluginsv2"))
    (view,) = plugin.LifecircleReportsPlugin.external_views
    assert view["name"] == "Lifecircle reports" and view["destination"] == "nav"
    assert view["href"] == prefix.lstrip("/") + "/"          # relative to the UI's base URL
    assert not view["url_route"].startswith("/")


def _airflow_env(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
                "AIRFLOW__CORE__DAGS_FOLDER": str(home / "no-dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False"})
    env.update(extra)
    return env


def _run_python(code: str, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=str(REPO),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_airflow_plugins_manager_loads_the_folder(tmp_path):
    out = _run_python("""
        import json
        from airflow import plugins_manager as pm
        info = pm.get_plugin_info()
        apps, _ = pm.get_fastapi_plugins()
        print(json.dumps({"errors": pm.get_import_errors(), "info": info,
                          "apps": [{"name": a["name"], "url_prefix": a["url_prefix"]} for a in apps]},
                         default=str))
    """, _airflow_env(tmp_path / "airflow"))
    assert out["errors"] == {}
    (info,) = [p for p in out["info"] if p["name"] == "lifecircle_reports"]
    assert info["external_views"][0]["name"] == "Lifecircle reports"
    assert {"name": "Lifecircle reports", "url_prefix": "/lifecircle-reports"} in out["apps"]


@pytest.mark.airflow
def test_api_server_mounts_the_plugin(tmp_path, reports):
    """The real api-server app (SimpleAuthManager): the plugin is mounted, needs a login, and
    the external view is advertised by /api/v2/plugins."""
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({"admin": "test-password"}))
    env = _airflow_env(home, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
                       AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
                       AIRFLOW__API_AUTH__JWT_SECRET="test-only-secret", LIFECIRCLE_REPORTS_DIR=str(reports))
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    out = _run_python("""
        import json
        from fastapi.testclient import TestClient
        from airflow.api_fastapi.app import create_app
        c = TestClient(create_app())
        anonymous = c.get("/lifecircle-reports/").status_code
        token = c.post("/auth/token", json={"username": "admin", "password": "test-password"}).json()["access_token"]
        auth = {"Authorization": "Bearer " + token}
        index = c.get("/lifecircle-reports/", headers=auth)
        c.cookies.set("_token", token)                   # the UI's session cookie
        report = c.get("/lifecircle-reports/2024-05/report.html")
        plugins = c.get("/api/v2/plugins", headers=auth).json()
        print(json.dumps({"anonymous": anonymous, "index": [index.status_code, index.text],
                          "report": [report.status_code, report.text], "plugins": plugins}))
    """, env)
    assert out["anonymous"] == 401
    assert out["index"][0] == 200 and 'href="2024-05/report.html"' in out["index"][1]
    assert out["report"][0] == 200 and "May report" in out["report"][1]
    (plugin,) = [p for p in out["plugins"]["plugins"] if p["name"] == "lifecircle_reports"]
    (view,) = plugin["external_views"]
    assert view["href"] == "lifecircle-reports/" and view["url_route"] == "lifecircle_reports"
