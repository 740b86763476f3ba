"""Task-progress reports: what each responsible unit says about its annex-3/4 tasks.

Why: the plan (天政办发〔2023〕54号, 七(四)) asks every lead and co-operating unit to report
progress before the 15th; the bureau tracks it per task. Reports come back as the
workbook from ``templates.write_task_progress_template`` (edited by hand) or as a CSV,
so columns are found by their header words, statuses by the words people use (未开始,
推进中/进行中, 已完成/完成, 受阻 …) and percentages in every spelling (60%, 0.6, 60, ６０％).
A row that cannot be trusted (unknown task id or unit, unreadable status, a formula where
a number belongs) is an error for that row only; the file is ok if one row is usable.
Formulas are never evaluated (openpyxl ``data_only=False``).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from lifecircle.surveys.annex5 import DATE_HINT, BadValue, norm, read_date, read_percent, show_value
from lifecircle.surveys.detect import decode_text, is_zip, sniff_delimiter
from lifecircle.surveys.excel_safety import restore

STATUSES = ("not_started", "in_progress", "completed", "blocked")
STATUS_LABELS = {"not_started": "未开始", "in_progress": "推进中", "completed": "已完成", "blocked": "受阻"}
STATUS_WORDS = {
    "not_started": ["未开始", "尚未开始", "未启动", "尚未启动", "待启动", "未动工", "not_started", "notstarted"],
    "in_progress": ["推进中", "进行中", "正在推进", "正在进行", "实施中", "在建", "持续推进", "常态化推进",
                    "正在实施", "已启动", "in_progress", "inprogress"],
    "completed": ["已完成", "完成", "已办结", "办结", "已完工", "完工", "已落实", "completed", "done"],
    "blocked": ["受阻", "阻滞", "停滞", "暂停", "推进受阻", "blocked"],
}
STATUS_HINT = "未开始/推进中/已完成/受阻 (or not_started/in_progress/completed/blocked)"
MAX_ROWS, MAX_COLS = 2000, 40
#: header texts of the template written by ``templates`` (the parser finds any variant)
HEADERS = {"task_id": "任务编号", "annex": "附件", "item": "工作任务", "measure": "具体措施",
           "deadline": "完成时限", "role": "本单位职责", "status": "进展状态", "progress_pct": "完成进度(%)",
           "as_of": "截至日期", "notes": "进展情况及备注"}
TITLE = "一刻钟便民生活圈建设任务进展报送表"
#: field → header pattern (NFKC, no spaces); tried in this order, a column is claimed once
_COLUMN_PATTERNS = [
    ("task_id", r"任务编号|任务序号|任务ID|taskid|task_id|编号"),
    ("progress_pct", r"进度|完成比例|完成率|完成百分比|progress"),
    ("status", r"状态|完成情况|status"),
    ("as_of", r"截[至止]日期|填报日期|报告日期|as_of|asof|^日期$"),
    ("unit", r"填报单位|报送单位|责任单位|^单位(名称)?$|^unit$"),
    ("notes", r"备注|进展情况|情况说明|^说明$|notes"),
]
_NOTE_ROW = re.compile(r"^(注|备注|说明|填表说明|填报说明)[:：]?")


@dataclass
class TaskProgressResult:
    """``rows``: usable rows (task_id, unit, status, progress_pct, as_of, notes)."""

    rows: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sheet: str | None = None
    unfilled: int = 0  # task rows left empty (as sent out in the template)

    @property
    def ok(self) -> bool:
        return bool(self.rows)


@dataclass
class _Cell:
    value: Any
    ref: str  # "Sheet!C5" or "row 5"
    number_format: str = "General"
    formula: str | None = None


# ---------------------------------------------------------------- value readers
def task_key(raw: Any) -> str:
    """A task id as people type it → the canonical form: "a3－1", "A3-01 ", "附件3-1" → "A3-01"."""
    s = norm(raw).upper().replace("_", "-").replace("—", "-").replace("–", "-")
    m = re.fullmatch(r"(?:A|附件)?([34])[-.]?(\d{1,2})", s)
    return f"A{m.group(1)}-{int(m.group(2)):02d}" if m else s


def status_code(raw: Any) -> str | None:
    """The status code for a typed status; None if empty; raises BadValue if unknown."""
    s = norm(raw).lower().rstrip("。.")
    if not s or s in ("-", "—", "/"):
        return None
    s = re.sub(r"^[√✓☑■]|[√✓☑■]$", "", s)
    for code, words in STATUS_WORDS.items():
        if s in (w.lower() for w in words):
            return code
    raise BadValue(raw)


def _unit_key(raw: Any) -> str:
    return norm(raw)


class _Units:
    """Unit names from units.csv; a unique partial name (商务局 → 市商务局) is accepted."""

    def __init__(self, units: pd.DataFrame):
        col = "unit_name" if "unit_name" in units.columns else units.columns[0]
        self.names = {_unit_key(n): str(n) for n in units[col].dropna()}

    def match(self, raw: Any) -> tuple[str | None, bool]:
        """(unit name or None, exact?)."""
        key = _unit_key(raw)
        if key in self.names:
            return self.names[key], True
        hits = [name for k, name in self.names.items() if key and (key in k or k in key)]
        return (hits[0], False) if len(hits) == 1 else (None, False)


# ---------------------------------------------------------------- reading the file
def _table_from_xlsx(path: Path) -> tuple[str, list[list[_Cell]]]:
    from openpyxl import load_workbook
    from openpyxl.cell.cell import MergedCell

    with path.open("rb") as f:  # a file object: a renamed .csv that is an .xlsx still opens
        wb = load_workbook(f, data_only=False)
    ws = _pick_sheet(wb)
    anchors = {}
    for rng in ws.merged_cells.ranges:
        for r in range(rng.min_row, min(rng.max_row, MAX_ROWS) + 1):
            for c in range(rng.min_col, min(rng.max_col, MAX_COLS) + 1):
                anchors[(r, c)] = (rng.min_row, rng.min_col)
    table = []
    for row in ws.iter_rows(max_row=min(ws.max_row, MAX_ROWS), max_col=min(ws.max_column, MAX_COLS)):
        out = []
        for cell in row:
            src = cell
            if isinstance(cell, MergedCell):  # a merged block: the value of its top-left cell
                r, c = anchors.get((cell.row, cell.column), (cell.row, cell.column))
                src = ws.cell(r, c)
            formula = None
            if src.data_type == "f":
                formula = src.value if isinstance(src.value, str) else str(getattr(src.value, "text", src.value))
            out.append(_Cell(None if formula else src.value, f"{ws.title}!{cell.coordinate}",
                             src.number_format or "General", formula))
        table.append(out)
    return ws.title, table


def _pick_sheet(wb):
    """The first sheet with a task-id header; else the first sheet."""
    for ws in wb.worksheets:
        for row in ws.iter_rows(max_row=40, max_col=MAX_COLS, values_only=True):
            if any(isinstance(v, str) and re.search(_COLUMN_PATTERNS[0][1], norm(v), re.I) for v in row):
                return ws
    return wb.worksheets[0]


def _table_from_csv(path: Path, warnings: list[str]) -> list[list[_Cell]]:
    text, encoding = decode_text(path.read_bytes())
    if encoding != "utf-8":
        warnings.append(f"{path.name}: not UTF-8; read as GBK (GB18030)")
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    table = []
    for n, row in enumerate(rows, start=1):
        if n > MAX_ROWS:
            warnings.append(f"{path.name}: only the first {MAX_ROWS} rows were read")
            break
        table.append([_Cell(v, f"row {n}", "General", v.strip() if v.strip().startswith("=") else None)
                      for v in row])
    return table


def _text(cell: _Cell | None) -> str:
    return "" if cell is None or cell.value is None else norm(cell.value)


def _find_header(table: list[list[_Cell]]) -> tuple[int, dict[str, int]] | None:
    for i, row in enumerate(table[:60]):
        texts = [_text(c) for c in row]
        cols: dict[str, int] = {}
        for key, pattern in _COLUMN_PATTERNS:
            for j, t in enumerate(texts):
                if j not in cols.values() and t and re.search(pattern, t, re.I) and len(t) <= 30:
                    cols[key] = j
                    break
        if "task_id" in cols and ("status" in cols or "progress_pct" in cols):
            return i, cols
    return None


def _labelled(table: list[list[_Cell]], upto: int, pattern: str) -> _Cell | None:
    """The value after a label such as 填报单位: above the header (same cell or to its right)."""
    rx = re.compile(pattern)
    for row in table[:upto]:
        for j, cell in enumerate(row):
            if not isinstance(cell.value, str):
                continue
            m = rx.search(norm(cell.value))
            if not m:
                continue
            rest = re.split(r"截[至止]日期|填报单位|报告期|报送单位|联系人|填报人", norm(cell.value)[m.end():])[0]
            if rest.strip(":："):
                return _Cell(rest.strip(":："), cell.ref, cell.number_format)
            for nxt in row[j + 1:]:
                if nxt.value is not None and str(nxt.value).strip():
                    return nxt
            return None
    return None


# ---------------------------------------------------------------- the parser
def parse_task_progress(path: str | Path, tasks: pd.DataFrame, units: pd.DataFrame) -> TaskProgressResult:
    """Parse a task-progress workbook (.xlsx) or CSV (UTF-8/GBK) against the known tasks
    (``tasks.task_id``, lead_units/co_units) and units (``units.unit_name``)."""
    path = Path(path)
    result = TaskProgressResult()
    try:
        if is_zip(path):
            result.sheet, table = _table_from_xlsx(path)
        else:
            result.sheet, table = None, _table_from_csv(path, result.warnings)
    except Exception as exc:  # noqa: BLE001 - an unreadable file is one error message
        result.errors.append(f"{path.name}: cannot be read ({type(exc).__name__}: {exc}), expected a "
                             "task-progress workbook (.xlsx) or CSV")
        return result
    where = result.sheet or path.name
    found = _find_header(table)
    if found is None:
        result.errors.append(f"{where}: no header row with 任务编号 and 进展状态/完成进度 found in the first "
                             "60 rows, expected the task-progress table (任务编号 | … | 进展状态 | 完成进度(%) | "
                             "截至日期 | 进展情况及备注)")
        return result
    head, cols = found
    default_unit = _labelled(table, head, r"填报单位|报送单位|责任单位")
    default_as_of = _labelled(table, head, r"截[至止]日期|填报日期")
    if "unit" not in cols and default_unit is None:
        result.errors.append(f"{where}: no 填报单位 (reporting unit) found, expected a 填报单位: line above "
                             "the table or a 填报单位 column")
        return result
    known = {task_key(t): t for t in tasks["task_id"]}
    responsible = _responsible(tasks)
    unit_index = _Units(units)
    header_as_of = _read_header_date(default_as_of, result) if default_as_of is not None else None
    seen: dict[tuple[str, str], str] = {}
    unfilled: list[str] = []
    for row in table[head + 1:]:
        cell = {k: (row[j] if j < len(row) else None) for k, j in cols.items()}
        texts = [_text(c) for c in row]
        first = next((t for t in texts if t), "")
        if not first and not any(c.formula for c in row):
            continue  # blank row
        if _NOTE_ROW.match(first) and not _text(cell["task_id"]):
            continue  # a note under the table
        parsed = _parse_row(cell, known, responsible, unit_index, default_unit, header_as_of, result, unfilled)
        if parsed is None:
            continue
        key = (parsed["task_id"], parsed["unit"])
        if key in seen:
            result.errors.append(f"{cell['task_id'].ref}: task {key[0]} for {key[1]} appears again (first at "
                                 f"{seen[key]}), expected one row per task and unit; row left out")
            continue
        seen[key] = cell["task_id"].ref
        result.rows.append(parsed)
    result.unfilled = len(unfilled)
    if unfilled:
        result.warnings.append(f"{where}: {len(unfilled)} task rows not filled in (no status, progress or "
                               f"notes): {', '.join(unfilled[:10])}{' …' if len(unfilled) > 10 else ''}")
    if not result.rows and not result.errors:
        result.errors.append(f"{where}: not filled in — no task row has a status or progress (a blank "
                             "template?), expected at least one reported task")
    return result


def _responsible(tasks: pd.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in tasks.to_dict("records"):
        names = set()
        for col in ("lead_units", "co_units"):
            v = r.get(col)
            if isinstance(v, str):
                v = [s for s in re.split(r"[;；、,，]", v) if s.strip()]
            names |= {_unit_key(s) for s in (v or [])}
        out[task_key(r["task_id"])] = names
    return out


def _read_header_date(cell: _Cell, result: TaskProgressResult) -> date | None:
    try:
        return read_date(cell.value)
    except BadValue:
        result.errors.append(f"{cell.ref}: 截至日期 is {show_value(cell.value)}, expected {DATE_HINT}; "
                             "rows without their own date are left out")
        return None


def _parse_row(cell, known, responsible, unit_index, default_unit, header_as_of,
               result: TaskProgressResult, unfilled: list[str]) -> dict | None:
    """One table row → a row dict, or None (errors recorded, or an unfilled template row)."""
    tid_cell = cell["task_id"]
    raw_id = _text(tid_cell)
    filled = {k: cell.get(k) is not None and (_text(cell[k]) != "" or cell[k].formula is not None)
              for k in ("status", "progress_pct", "notes")}
    if not raw_id:
        if any(filled.values()):
            result.errors.append(f"{tid_cell.ref}: row has a status/progress but no 任务编号, expected a task "
                                 "id such as A3-01; row left out")
        return None
    tid = task_key(raw_id)
    if not any(filled.values()):
        unfilled.append(tid)
        return None
    errors: list[str] = []
    if tid not in known:
        errors.append(f"{tid_cell.ref}: unknown task id {show_value(tid_cell.value)}, expected one of the "
                      "annex-3/4 task ids in tasks.csv (A3-01 … A4-30)")
    unit_cell = cell.get("unit") if cell.get("unit") is not None and _text(cell.get("unit")) else default_unit
    unit = None
    if unit_cell is None or not _text(unit_cell):
        errors.append(f"{tid_cell.ref}: no 填报单位 for task {tid}, expected the reporting unit")
    else:
        unit, exact = unit_index.match(unit_cell.value)
        if unit is None:
            errors.append(f"{unit_cell.ref}: unknown unit {show_value(unit_cell.value)}, expected a unit "
                          "named in units.csv (e.g. 市商务局)")
        elif not exact:
            result.warnings.append(f"{unit_cell.ref}: unit {show_value(unit_cell.value)} read as {unit}")
    status = _field(cell.get("status"), _status, "进展状态", STATUS_HINT, errors)
    progress = _field(cell.get("progress_pct"), _progress, "完成进度",
                      "a number 0–100 (percent) such as 60%, 60 or 0.6", errors)
    as_of = _field(cell.get("as_of"), _date, "截至日期", DATE_HINT, errors)
    if as_of is None and not any("截至日期" in e for e in errors):
        as_of = header_as_of
        if as_of is None:
            ref = cell["as_of"].ref if cell.get("as_of") is not None else tid_cell.ref
            errors.append(f"{ref}: 截至日期 for task {tid} is empty, expected {DATE_HINT}")
    notes = _notes(cell.get("notes"), result)
    if errors:
        result.errors.extend(e + ("" if e.endswith("left out") else "; row left out") for e in errors)
        return None
    if unit and tid in responsible and responsible[tid] and _unit_key(unit) not in responsible[tid]:
        result.warnings.append(f"{tid_cell.ref}: {unit} is not a lead or co-operating unit of task {tid} "
                               "(tasks.csv); kept")
    if status is None:
        status = "completed" if progress == 100 else "not_started" if progress == 0 else "in_progress"
        if progress is None:
            status = "in_progress"
        result.warnings.append(f"{tid_cell.ref}: 进展状态 for task {tid} is empty; read as "
                               f"{STATUS_LABELS[status]} from the progress/notes")
    elif status == "completed" and progress is not None and progress < 100:
        result.warnings.append(f"{tid_cell.ref}: task {tid} is 已完成 but progress is {progress:g}%")
    elif status == "not_started" and progress:
        result.warnings.append(f"{tid_cell.ref}: task {tid} is 未开始 but progress is {progress:g}%")
    return {"task_id": known.get(tid, tid), "unit": unit, "status": status, "progress_pct": progress,
            "as_of": as_of, "notes": notes}


def _field(c: _Cell | None, reader, label: str, expected: str, errors: list[str]):
    if c is None:
        return None
    if c.formula is not None:
        errors.append(f"{c.ref}: {label} found formula {c.formula}, expected {expected} typed in "
                      "(formulas are never evaluated)")
        return None
    try:
        return reader(c)
    except BadValue:
        errors.append(f"{c.ref}: {label} found {show_value(c.value)}, expected {expected}")
        return None


def _status(c: _Cell) -> str | None:
    return status_code(c.value) if c.value is not None else None


def _progress(c: _Cell) -> float | None:
    v = read_percent(c.value, c.number_format)
    return None if v is None else round(v, 1)


def _date(c: _Cell) -> date | None:
    return read_date(c.value)


def _notes(c: _Cell | None, result: TaskProgressResult) -> str | None:
    if c is None:
        return None
    if c.formula is not None:
        result.warnings.append(f"{c.ref}: 备注 holds a formula {c.formula!r}; kept as text, never evaluated")
        return c.formula
    if c.value is None:
        return None
    text = restore(str(c.value)).strip()
    return text or None
