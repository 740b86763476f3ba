"""The analysts' workbook: ``reports/<YYYY-MM>/report.xlsx``.

One sheet per table (column names as in the warehouse, so figures can be matched to
``mart``), plus one annex-5-style sheet per circle. Text cells that a spreadsheet would
read as a formula (starting with = + - @, also after spaces, or tab/CR) are prefixed with ``'``
(``surveys.excel_safety.neutralise``, applied again by ``report.xlsx`` itself); the bytes are
the same for the same content (stamped from the period, like
``surveys.annex5.save_deterministic``, but written by ``report.xlsx``: openpyxl is far too
slow for a 6,000-community city's tables)."""
from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from lifecircle.report import xlsx
from lifecircle.report.xlsx import BOLD, HEADER, TITLE, Sheet
from lifecircle.surveys.excel_safety import neutralise

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # kept for callers; see excel_safety.is_dangerous
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

CIRCLE_COLUMNS = [  # (key, header) of the per-circle annex-5-style table
    ("group", "类别"), ("name_zh", "业态"),
    ("reported_outlets", "上报：商业网点数量(个)"), ("reported_employees_10k", "上报：从业人数(万人)"),
    ("reported_chain_outlets", "上报：品牌连锁店数量"), ("reported_satisfaction_pct", "上报：居民满意度(%)"),
    ("reported_demand", "上报：需求清单(缺什么)"),
    ("located_outlets", "测算：地图网点数"), ("registered_open", "测算：登记在营网点数"),
    ("registered_chain", "测算：其中连锁"), ("communities_present", "测算：步行可达社区数"),
    ("residents_within_share", "测算：步行可达居民比例"),
]
GROUP_LABELS = {"basic": "基本保障类业态", "quality": "品质提升类业态"}


def safe_text(value: str) -> str:
    """Neutralise formula injection: a leading = + - @ (or tab/CR) becomes literal text."""
    return neutralise(value)


def cell_value(value):
    """A warehouse value as an openpyxl cell value (numbers as numbers, text neutralised)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, Decimal):
        return None if value.is_nan() else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return safe_text("、".join("" if v is None else str(v) for v in value))
    if isinstance(value, dict):
        return safe_text(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return safe_text(str(value))


def sheet_title(text: str, taken: set[str]) -> str:
    title = _BAD_SHEET_CHARS.sub("_", text)[:31] or "sheet"
    base, n = title, 2
    while title.lower() in taken:
        suffix = f"~{n}"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _column_values(series: pd.Series) -> list:
    """A frame column as cell values, converted per dtype (fast for numeric columns)."""
    kind = series.dtype.kind
    if kind == "f":
        return [None if math.isnan(v) else v for v in series.tolist()]
    if kind in "iub":
        return series.tolist()
    values = series.tolist()
    kinds = {type(v) for v in values} - {type(None)}
    if kinds == {str}:
        return [None if v is None else neutralise(v) for v in values]
    if kinds == {Decimal}:
        return [None if v is None or v.is_nan() else float(v) for v in values]
    return [cell_value(v) for v in values]


def _table_sheet(title: str, df: pd.DataFrame) -> Sheet:
    ws = Sheet(title)
    ws.append([safe_text(str(c)) for c in df.columns], HEADER)
    ws.append_columns([_column_values(df[c]) for c in df.columns])
    for i, c in enumerate(df.columns, 1):
        ws.widths[i] = max(10, min(40, len(str(c)) + 4))
    return ws


def _circle_sheet(title: str, circle: dict, rows: list[dict]) -> Sheet:
    ws = Sheet(title)
    s = circle.get("survey") or {}
    ws.append([safe_text(f"试点便民生活圈建设情况（附件5口径）：{circle['name']}（{circle['code']}）")], TITLE)
    ws.append([safe_text(f"报告期：{circle['period']}　包含社区：{circle['communities']}")])
    ws.append(["调查表截至日期", cell_value(s.get("as_of")), "社区商业中心(座)", cell_value(s.get("commercial_centres")),
               "覆盖居民(万人，上报)", cell_value(s.get("residents_covered_10k"))])
    ws.append(["设施面积占比(%)", cell_value(s.get("facility_area_share_pct")), "居民满意度(%)",
               cell_value(circle.get("satisfaction_pct")), "满意度样本数", cell_value(circle.get("responses"))])
    ws.append(["覆盖社区比例(测算)", cell_value(circle.get("communities_covered_share")), "覆盖居民比例(测算)",
               cell_value(circle.get("residents_covered_share")), "连锁化率(测算)", cell_value(circle.get("chain_share"))])
    ws.append([h for _, h in CIRCLE_COLUMNS], HEADER)
    for r in rows:
        ws.append([cell_value(GROUP_LABELS.get(r.get("group"), r.get("group")) if k == "group" else r.get(k))
                   for k, _ in CIRCLE_COLUMNS])
    totals = ["合计", ""] + [None] * (len(CIRCLE_COLUMNS) - 2)
    for i, (k, _) in enumerate(CIRCLE_COLUMNS):
        if k in ("reported_outlets", "reported_chain_outlets", "located_outlets", "registered_open", "registered_chain"):
            vals = [r[k] for r in rows if r.get(k) is not None and not pd.isna(r[k])]
            totals[i] = int(sum(vals)) if vals else None
    ws.append(totals, BOLD)
    ws.widths = {i: 14.0 for i in range(1, len(CIRCLE_COLUMNS) + 1)} | {2: 22.0, 7: 30.0}
    return ws


def build_sheets(tables: list[tuple[str, pd.DataFrame]], circles: list[dict]) -> list[Sheet]:
    """``tables``: (sheet title, frame); ``circles``: dicts with code, name, period,
    communities, survey, satisfaction..., ``rows`` (the annex-5 table)."""
    taken: set[str] = set()
    sheets = [_table_sheet(sheet_title(title, taken), df) for title, df in tables]
    sheets += [_circle_sheet(sheet_title(f"圈-{c['code']}", taken), c, c["rows"]) for c in circles]
    return sheets


def write_workbook(path: Path, period_end: date, tables, circles) -> Path:
    """Same content, same bytes: properties and zip entries are stamped with the period's end."""
    stamp = datetime(period_end.year, period_end.month, period_end.day)
    return xlsx.write(path, build_sheets(tables, circles), stamp)
