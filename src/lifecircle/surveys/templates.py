"""Blank forms for the bureau to send out: an annex-5 workbook per circle, a
task-progress workbook per responsible unit.

Why: what comes back parses best when it went out pre-filled — the circle's exact name
and member communities on annex 5, each unit's own task ids, measures and deadlines on
the progress sheet (with a drop-down for the status) — so people only type figures.
Files are byte-identical for the same period and configuration (stamped with the
period's end, never the clock), and every text cell is neutralised against formula
injection (``excel_safety``). ``parse_annex5``/``parse_task_progress`` of an unfilled
template give one clear "not filled in" error.
"""
from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.datavalidation import DataValidation

from lifecircle import refdata, settings
from lifecircle.period import Month
from lifecircle.surveys.annex5 import build_annex5_workbook, save_deterministic
from lifecircle.surveys.excel_safety import neutralise, neutralise_worksheet
from lifecircle.surveys.task_progress import HEADERS, STATUS_LABELS, TITLE

INSTRUCTIONS = ("填表说明:请于每月15日前报送上月进展。进展状态从下拉列表选择(未开始/推进中/已完成/受阻);"
                "完成进度填0–100的数字(如60);截至日期填写如2024年5月31日;请勿修改任务编号和表格结构。")
_COLUMNS = ["task_id", "annex", "item", "measure", "deadline", "role", "status", "progress_pct", "as_of", "notes"]
_WIDTHS = [10, 8, 14, 60, 14, 10, 12, 12, 14, 40]


def _safe_name(text: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "_", str(text)).strip("_") or "unit"


def write_templates(period: str, out_dir: str | None = None, city: str | None = None) -> dict:
    """Write every circle's blank annex-5 form and every unit's task-progress sheet.

    Default folder ``settings.reports_dir()/templates/<period>/``. Returns the folder, the
    counts (annex5, task_progress, units_without_tasks) and the file names written.
    """
    month = Month.parse(period)
    folder = Path(out_dir) if out_dir else settings.reports_dir() / "templates" / str(month)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.combine(month.end, time(0, 0))
    files = []
    city_name = refdata.load_city(city).get("name")
    for circle in circles_with_communities(city):
        path = folder / f"annex5_{circle['circle_code']}_{month}.xlsx"
        form = {"blank": True, "circle_name": circle["name"], "city": city_name, "as_of": None,
                "communities": circle["communities"]}
        save_deterministic(build_annex5_workbook(form), path, stamp)
        files.append(path.name)
    n_annex5 = len(files)
    tasks = refdata.load_tasks(city)
    idle = []
    for unit in refdata.load_units(city)["unit_name"]:
        mine = unit_tasks(tasks, unit)
        if not mine:
            idle.append(unit)
            continue
        path = folder / f"task_progress_{_safe_name(unit)}_{month}.xlsx"
        save_deterministic(build_task_progress_workbook(unit, str(month), mine), path, stamp)
        files.append(path.name)
    return {"folder": str(folder), "period": str(month), "annex5": n_annex5,
            "task_progress": len(files) - n_annex5, "units_without_tasks": idle, "files": files}


def circles_with_communities(city: str | None = None) -> list[dict]:
    """[{circle_code, name, communities: [names in circle_members order]}]."""
    names = refdata.load_communities(city).set_index("community_code")["name"].to_dict()
    members = refdata.load_circle_members(city)
    out = []
    for c in refdata.load_circles(city).itertuples():
        codes = members.loc[members["circle_code"] == c.circle_code, "community_code"]
        out.append({"circle_code": c.circle_code, "name": c.name,
                    "communities": [names.get(code, code) for code in codes]})
    return out


def unit_tasks(tasks, unit: str) -> list[dict]:
    """The tasks ``unit`` leads or co-operates on, in task-id order, with its role."""
    out = []
    for t in tasks.sort_values("task_id").to_dict("records"):
        lead, co = list(t.get("lead_units") or []), list(t.get("co_units") or [])
        if unit in lead or unit in co:
            out.append(dict(t, role="牵头" if unit in lead else "配合"))
    return out


def build_task_progress_workbook(unit: str, period: str, tasks: list[dict]) -> Workbook:
    """The progress sheet for one unit: its tasks pre-filled, status/progress/date/notes empty."""
    wb = Workbook()
    ws = wb.active
    ws.title = "任务进展"
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    last = len(_COLUMNS)
    ws.cell(1, 1, TITLE).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    for col, value in ((1, "填报单位:"), (2, unit), (4, "报告期:"), (5, period), (7, "截至日期:")):
        ws.cell(2, col, neutralise(value))
    ws.cell(3, 1, INSTRUCTIONS).alignment = wrap
    ws.merge_cells(start_row=3, start_column=1, end_row=3, end_column=last)
    ws.row_dimensions[3].height = 32
    head = 4
    for j, key in enumerate(_COLUMNS, start=1):
        cell = ws.cell(head, j, HEADERS[key])
        cell.font, cell.alignment, cell.border = Font(bold=True), wrap, border
    for i, t in enumerate(tasks, start=head + 1):
        values = [t["task_id"], f"附件{t['annex']}", t.get("item"), t.get("measure"),
                  t.get("deadline_raw") or ("常态化推进" if t.get("ongoing") else None), t["role"]]
        for j, value in enumerate(values + [None] * (last - len(values)), start=1):
            cell = ws.cell(i, j, neutralise(value))
            cell.alignment, cell.border = wrap, border
        ws.cell(i, _COLUMNS.index("progress_pct") + 1).number_format = "0"
    end = head + max(len(tasks), 1)
    letter = {k: chr(ord("A") + j) for j, k in enumerate(_COLUMNS)}
    status = DataValidation(type="list", formula1='"' + ",".join(STATUS_LABELS.values()) + '"',
                            allow_blank=True, showErrorMessage=True, errorTitle="进展状态",
                            error="请从下拉列表选择:" + "/".join(STATUS_LABELS.values()))
    status.add(f"{letter['status']}{head + 1}:{letter['status']}{end}")
    progress = DataValidation(type="decimal", operator="between", formula1="0", formula2="100",
                              allow_blank=True, showErrorMessage=True, errorTitle="完成进度",
                              error="请填写0–100之间的数字")
    progress.add(f"{letter['progress_pct']}{head + 1}:{letter['progress_pct']}{end}")
    ws.add_data_validation(status)
    ws.add_data_validation(progress)
    for j, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[chr(ord("A") + j - 1)].width = width
    ws.freeze_panes = ws.cell(head + 1, 2)
    neutralise_worksheet(ws)
    return wb
