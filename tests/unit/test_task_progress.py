"""Task-progress reports: statuses, percentages and dates as people type them; unknown
task ids and units are row errors naming the cell or row."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from lifecircle import refdata
from lifecircle.surveys.annex5 import save_deterministic
from lifecircle.surveys.task_progress import parse_task_progress, status_code, task_key
from lifecircle.surveys.templates import build_task_progress_workbook, unit_tasks

HEADER = ["任务编号", "填报单位", "进展状态", "完成进度", "截至日期", "备注"]


@pytest.fixture(scope="module")
def refs():
    return refdata.load_tasks("tianshui"), refdata.load_units("tianshui")


def _csv(tmp_path: Path, rows: list[list], header=HEADER, encoding="utf-8-sig") -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    path = tmp_path / "p.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("typed, code", [
    ("未开始", "not_started"), ("未启动", "not_started"), ("推进中", "in_progress"), ("进行中", "in_progress"),
    (" 正在推进 ", "in_progress"), ("已完成", "completed"), ("完成", "completed"), ("已完成。", "completed"),
    ("受阻", "blocked"), ("暂停", "blocked"), ("completed", "completed"), ("", None),
])
def test_status_words(typed, code):
    assert status_code(typed) == code


@pytest.mark.parametrize("typed, key", [("A3-01", "A3-01"), ("a3－1", "A3-01"), (" A4-30 ", "A4-30"),
                                        ("附件3-2", "A3-02"), ("A4_7", "A4-07"), ("B1-01", "B1-01")])
def test_task_ids(typed, key):
    assert task_key(typed) == key


@pytest.mark.parametrize("typed, pct", [("60%", 60.0), ("0.6", 60.0), ("60", 60.0), ("６０％", 60.0),
                                        ("６０", 60.0), ("100", 100.0), ("0", 0.0), ("12.34", 12.3)])
def test_progress_spellings(tmp_path, refs, typed, pct):
    res = parse_task_progress(_csv(tmp_path, [["A3-01", "市商务局", "推进中", typed, "2024-05-31", ""]]), *refs)
    assert res.errors == [] and res.rows[0]["progress_pct"] == pct


@pytest.mark.parametrize("typed", ["2024年5月31日", "2024-05-31", "2024/5/31", "２０２４年５月３１日", "20240531"])
def test_date_spellings(tmp_path, refs, typed):
    res = parse_task_progress(_csv(tmp_path, [["A3-01", "市商务局", "推进中", "50", typed, ""]]), *refs)
    assert res.rows[0]["as_of"] == date(2024, 5, 31)


def test_row_errors_name_the_row_and_keep_the_good_rows(tmp_path, refs):
    res = parse_task_progress(_csv(tmp_path, [
        ["A3-01", "市商务局", "推进中", "50", "2024-05-31", "ok"],
        ["A9-01", "市商务局", "推进中", "50", "2024-05-31", ""],
        ["A3-02", "市教育局", "推进中", "50", "2024-05-31", ""],
        ["A3-03", "市民政局", "推进中", "120", "2024-05-31", ""],
        ["A3-04", "市民政局", "推进中", "50", "", ""],
    ]), *refs)
    assert res.ok and [r["task_id"] for r in res.rows] == ["A3-01"]
    assert res.errors == [
        "row 3: unknown task id 'A9-01', expected one of the annex-3/4 task ids in tasks.csv (A3-01 … A4-30); "
        "row left out",
        "row 4: unknown unit '市教育局', expected a unit named in units.csv (e.g. 市商务局); row left out",
        "row 5: 完成进度 found '120', expected a number 0–100 (percent) such as 60%, 60 or 0.6; row left out",
        "row 6: 截至日期 for task A3-04 is empty, expected a date such as 2024年5月31日, 2024-05-31 or 2024/5/31; "
        "row left out",
    ]


def test_unit_not_responsible_is_a_warning(tmp_path, refs):
    res = parse_task_progress(_csv(tmp_path, [["A3-03", "市商务局", "推进中", "50", "2024-05-31", ""]]), *refs)
    assert res.ok and res.warnings == ["row 2: 市商务局 is not a lead or co-operating unit of task A3-03 "
                                       "(tasks.csv); kept"]


def test_inconsistent_status_and_progress_warn(tmp_path, refs):
    res = parse_task_progress(_csv(tmp_path, [["A3-01", "市商务局", "已完成", "80", "2024-05-31", ""],
                                              ["A3-02", "市商务局", "未开始", "10", "2024-05-31", ""]]), *refs)
    assert [r["status"] for r in res.rows] == ["completed", "not_started"]
    assert res.warnings == ["row 2: task A3-01 is 已完成 but progress is 80%",
                            "row 3: task A3-02 is 未开始 but progress is 10%"]


def test_no_header(tmp_path, refs):
    res = parse_task_progress(_csv(tmp_path, [["x", "y"]], header=["名称", "数量"]), *refs)
    assert not res.ok and res.errors[0].startswith("p.csv: no header row with 任务编号 and 进展状态/完成进度")


def test_unreadable_file(tmp_path, refs):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    res = parse_task_progress(path, *refs)
    assert not res.ok and res.errors[0].startswith("x.xlsx: cannot be read (")


def test_filled_template_round_trip(tmp_path, refs):
    tasks, units = refs
    mine = unit_tasks(tasks, "市民政局")
    wb = build_task_progress_workbook("市民政局", "2024-05", mine)
    ws = wb.active
    ws["H2"] = datetime(2024, 5, 31)
    ws["G5"], ws["H5"], ws["J5"] = "推进中", 0.6, "社区食堂已开 3 家"
    ws["H5"].number_format = "0%"
    path = save_deterministic(wb, tmp_path / "t.xlsx", datetime(2024, 5, 31))
    res = parse_task_progress(path, tasks, units)
    assert res.errors == []
    assert res.rows == [{"task_id": mine[0]["task_id"], "unit": "市民政局", "status": "in_progress",
                         "progress_pct": 60.0, "as_of": date(2024, 5, 31), "notes": "社区食堂已开 3 家"}]
    assert res.unfilled == len(mine) - 1


def test_formula_in_progress_names_the_cell(tmp_path, refs):
    tasks, units = refs
    wb = build_task_progress_workbook("市商务局", "2024-05", unit_tasks(tasks, "市商务局"))
    wb.active["H2"] = "2024-05-31"
    wb.active["G5"], wb.active["H5"] = "推进中", "=SUM(A1:A3)"
    path = tmp_path / "f.xlsx"
    wb.save(path)
    assert load_workbook(path).active["H5"].data_type == "f"
    res = parse_task_progress(path, tasks, units)
    assert res.errors == ["任务进展!H5: 完成进度 found formula =SUM(A1:A3), expected a number 0–100 (percent) "
                          "such as 60%, 60 or 0.6 typed in (formulas are never evaluated); row left out"]
