"""Airflow plugin: the monthly lifecircle reports, served from the Airflow api-server.

Reports are written by the ``lifecircle_report`` DAG to ``<reports>/<YYYY-MM>/report.html``
(and the analysts' workbook ``report.xlsx`` beside it),
``<reports>`` being ``LIFECIRCLE_REPORTS_DIR`` (default ``<LIFECIRCLE_STATE_DIR or
repo/.lifecircle>/reports``, as in ``lifecircle.settings.reports_dir``). Great Expectations
data docs, when built, are served from ``<reports>/data_docs/``.

Airflow 3 plugin mechanism: a FastAPI app in ``fastapi_apps`` (mounted by the api-server
under ``url_prefix``) and an ``external_views`` entry that puts "Lifecircle reports" in the
UI's navigation and renders the app in an iframe. Plugin FastAPI apps are not protected by
Airflow's auth on their own, so every route depends on Airflow's own user check (the UI's
session cookie or a ``Bearer`` token).

Only ``YYYY-MM`` folder names are ever turned into paths; anything else is a 404, so
``../`` and friends cannot escape the reports folder.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.security import HTTPBearer

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/lifecircle-reports"
MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")  # used with fullmatch only
DATA_DOCS = "data_docs"
_BEARER = HTTPBearer(auto_error=False)


def reports_root() -> Path:
    """The reports folder, resolved per request (the same rules as ``lifecircle.settings``,
    without creating anything)."""
    if env := os.environ.get("LIFECIRCLE_REPORTS_DIR"):
        return Path(env)
    if state := os.environ.get("LIFECIRCLE_STATE_DIR"):
        return Path(state) / "reports"
    try:
        from lifecircle.settings import repo_root
        root = repo_root()
    except ImportError:  # plugin used without the package installed: plugins/ sits in the repo
        root = Path(__file__).resolve().parents[1]
    return root / ".lifecircle" / "reports"


def list_months(root: Path) -> list[str]:
    """``YYYY-MM`` folders holding a report.html, newest first."""
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir()
                   if MONTH_RE.fullmatch(p.name) and (p / "report.html").is_file()), reverse=True)


def _data_docs_index(root: Path) -> str | None:
    """Relative path of the data docs' index page (GX writes ``local_site/index.html``)."""
    docs = root / DATA_DOCS
    for rel in ("index.html", "local_site/index.html"):
        if (docs / rel).is_file():
            return rel
    return "" if docs.is_dir() else None


async def require_login(request: Request) -> None:
    """Airflow's own authentication: 401/403 unless the caller is a logged-in Airflow user.

    Imported lazily so that processes which merely load plugins (scheduler, workers) do not
    import the api-server's security module."""
    from airflow.api_fastapi.core_api.security import get_user

    credentials = await _BEARER(request)
    request.state.lifecircle_user = await get_user(request, None, credentials)


app = FastAPI(title="Lifecircle reports", docs_url=None, redoc_url=None, openapi_url=None,
              dependencies=[Depends(require_login)])

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Lifecircle reports</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:48rem}}li{{margin:.3rem 0}}
.muted{{color:#666}}</style></head><body>
<h1>Lifecircle monthly reports</h1>
{body}
<p class="muted">Folder: <code>{root}</code></p>
</body></html>"""


@app.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    root = reports_root()
    months = list_months(root)
    # Relative links only: the app may sit behind a proxy or under a base URL.
    items = "".join(f'<li><a href="{m}/report.html">{m}</a>'
                    + (f' · <a href="{m}/report.xlsx">Excel (report.xlsx)</a>' if (root / m / "report.xlsx").is_file() else "")
                    + "</li>" for m in months)
    body = f"<ul>{items}</ul>" if months else "<p>No reports yet.</p>"
    docs = _data_docs_index(root)
    if docs is not None:
        body += f'<p><a href="data-docs/{html.escape(docs)}">Data quality (data docs)</a></p>'
    return HTMLResponse(_PAGE.format(body=body, root=html.escape(str(root))))


@app.get("/data-docs", include_in_schema=False)
def data_docs_root() -> RedirectResponse:
    rel = _data_docs_index(reports_root())
    if rel is None:
        raise HTTPException(status_code=404)
    return RedirectResponse(f"data-docs/{rel}", status_code=307)


@app.get("/data-docs/{path:path}")
def data_docs(path: str) -> FileResponse:
    """Static files under ``<reports>/data_docs``; the resolved path (symlinks included)
    must stay inside that folder."""
    try:
        docs = (reports_root() / DATA_DOCS).resolve()
        target = (docs / path).resolve()
        if target.is_dir():
            target = target / "index.html"
        ok = docs.is_dir() and target.is_relative_to(docs) and target.is_file()
    except (OSError, ValueError):  # e.g. an embedded NUL byte
        ok = False
    if not ok:
        raise HTTPException(status_code=404)
    return FileResponse(target)


@app.get("/{month}", include_in_schema=False)
def month_root(month: str) -> RedirectResponse:
    if not MONTH_RE.fullmatch(month):
        raise HTTPException(status_code=404)
    return RedirectResponse(f"{month}/report.html", status_code=307)


@app.get("/{month}/report.html")
def report(month: str) -> FileResponse:
    if not MONTH_RE.fullmatch(month):
        raise HTTPException(status_code=404)
    path = reports_root() / month / "report.html"
    if not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, media_type="text/html; charset=utf-8")


@app.get("/{month}/report.xlsx")
def workbook(month: str) -> FileResponse:
    """The analysts' workbook written next to the report."""
    if not MONTH_RE.fullmatch(month):
        raise HTTPException(status_code=404)
    path = reports_root() / month / "report.xlsx"
    if not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, filename=f"lifecircle-{month}.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class LifecircleReportsPlugin(AirflowPlugin):
    name = "lifecircle_reports"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Lifecircle reports"}]
    external_views = [{
        "name": "Lifecircle reports",
        # No leading slash: relative to the UI's base URL, so it works under a sub-path too.
        "href": URL_PREFIX.lstrip("/") + "/",
        "destination": "nav",
        "category": "browse",
        # Rendered inside the UI (iframe) at <base>/plugin/lifecircle_reports.
        "url_route": "lifecircle_reports",
    }]
