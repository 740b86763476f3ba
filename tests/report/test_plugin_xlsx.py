"""The reports plugin also lists and serves each month's report.xlsx."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

PLUGIN_FILE = Path(__file__).resolve().parents[2] / "plugins/lifecircle_reports_plugin.py"


@pytest.fixture
def client(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("lifecircle_reports_plugin_xlsx", PLUGIN_FILE)
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    for month in ("2024-04", "2024-05"):
        (tmp_path / month).mkdir()
        (tmp_path / month / "report.html").write_text("<html></html>", encoding="utf-8")
    (tmp_path / "2024-05" / "report.xlsx").write_bytes(b"PK\x03\x04xlsx")
    monkeypatch.setenv("LIFECIRCLE_REPORTS_DIR", str(tmp_path))
    plugin.app.dependency_overrides[plugin.require_login] = lambda: None
    yield TestClient(plugin.app)


def test_index_links_the_workbook_when_present(client):
    page = client.get("/").text
    assert 'href="2024-05/report.xlsx"' in page and 'href="2024-04/report.xlsx"' not in page


def test_workbook_is_served(client):
    r = client.get("/2024-05/report.xlsx")
    assert r.status_code == 200 and r.content == b"PK\x03\x04xlsx"
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    for bad in ("/2024-04/report.xlsx", "/2024-13/report.xlsx", "/latest/report.xlsx"):
        assert client.get(bad).status_code == 404
