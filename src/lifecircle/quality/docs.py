"""Data Docs: a static HTML site of every data-quality result, rebuilt on each run.

Written to ``<reports dir>/data_docs/index.html`` (the Airflow plugin links it). We
render our own page from mart.dq_results rather than GX's Data Docs: GX builds those only
from a file-backed context with stored validation results, whereas our suites run in an
ephemeral context (JSON suites beside the code, no GX state on disk) and our table-level
checks are not GX expectations at all. mart.dq_results holds both, so one page from it
shows everything analysts can also query — offline (no CDN assets), deterministic (no
timestamps), and a re-run rewrites the same file.
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from lifecircle import settings
from lifecircle.warehouse.engine import get_engine

_STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}
tr.blocked td{background:#fbe3e3}tr.quarantined td{background:#fff4d6}tr.reported td{background:#fdfbe6}
.sum{margin:0 0 .5em}"""
_LABELS = {"passed": "通过", "reported": "警告", "quarantined": "已隔离", "blocked": "阻断发布"}


def render(dq: pd.DataFrame) -> str:
    """The HTML page for the rows of mart.dq_results (pure, for tests)."""
    parts = ["<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>数据质量 Data Docs</title>",
             f"<style>{_STYLE}</style></head><body><h1>数据质量检查结果（Data Docs）</h1>",
             "<p>Every expectation (GX suites in expectations/, table checks in lifecircle.quality.checks) "
             "per period and table, as stored in <code>mart.dq_results</code>.</p>"]
    for period in sorted(dq["period"].unique(), reverse=True):
        rows = dq[dq["period"] == period].sort_values(["table_name", "suite", "expectation"])
        bad = rows[rows["action"] != "passed"]
        parts.append(f"<h2 id='{html.escape(period)}'>{html.escape(period)}</h2><p class='sum'>{len(rows)} checks, "
                     f"{len(bad)} not passed ({(rows['action'] == 'blocked').sum()} blocked)</p>")
        parts.append("<table><tr><th>table</th><th>suite</th><th>expectation</th><th>severity</th><th>result</th>"
                     "<th>observed</th><th>unexpected</th><th>rows</th></tr>")
        for r in rows.itertuples():
            cells = [r.table_name, r.suite, r.expectation, r.severity, _LABELS.get(r.action, r.action),
                     "" if pd.isna(r.observed_value) else r.observed_value,
                     "" if pd.isna(r.unexpected_count) else r.unexpected_count,
                     "" if pd.isna(r.element_count) else r.element_count]
            parts.append(f"<tr class='{html.escape(r.action)}'>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                         + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def build(out_dir: Path | None = None, engine: sa.Engine | None = None) -> Path:
    """Rebuild ``<reports>/data_docs/index.html`` from mart.dq_results; returns its path."""
    out = Path(out_dir) if out_dir else settings.reports_dir() / "data_docs"
    out.mkdir(parents=True, exist_ok=True)
    with (engine or get_engine()).connect() as conn:
        dq = pd.read_sql(sa.text("SELECT * FROM mart.dq_results"), conn)
    path = out / "index.html"
    text = render(dq)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
