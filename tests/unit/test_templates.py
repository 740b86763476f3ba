"""Blank templates: one annex-5 form per circle, one task-progress sheet per unit;
deterministic, neutralised, and parsed back as "not filled in"."""
from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from lifecircle import refdata
from lifecircle.cli import main
from lifecircle.surveys.annex5 import parse_annex5
from lifecircle.surveys.task_progress import parse_task_progress
from lifecircle.surveys.templates import build_task_progress_workbook, unit_tasks, write_templates


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    return write_templates("2024-05", str(tmp_path_factory.mktemp("tpl")), city="tianshui")


def test_one_form_per_circle_and_one_sheet_per_unit_with_tasks(written):
    circles = refdata.load_circles("tianshui")
    tasks, units = refdata.load_tasks("tianshui"), refdata.load_units("tianshui")
    with_tasks = [u for u in units["unit_name"] if unit_tasks(tasks, u)]
    assert written["annex5"] == len(circles) and written["task_progress"] == len(with_tasks)
    assert written["units_without_tasks"] == [u for u in units["unit_name"] if u not in with_tasks]
    names = set(written["files"])
    assert {f"annex5_{c}_2024-05.xlsx" for c in circles["circle_code"]} <= names
    assert "task_progress_市商务局_2024-05.xlsx" in names
    assert sorted(p.name for p in Path(written["folder"]).iterdir()) == sorted(names)


def test_annex5_template_is_prefilled_and_parses_as_not_filled(written):
    path = Path(written["folder"]) / "annex5_TS-C01_2024-05.xlsx"
    texts = [c.value for row in load_workbook(path).active.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("大城一刻钟便民生活圈(光明社区)" in t and "天水市" in t for t in texts)
    assert any(t.startswith("生活圈包含社区:") and "光明社区" in t for t in texts)
    result = parse_annex5(path)
    assert not result.ok and len(result.errors) == 1 and "form not filled in" in result.errors[0]


def test_task_template_lists_the_units_tasks_with_a_status_list(written):
    tasks = refdata.load_tasks("tianshui")
    path = Path(written["folder"]) / "task_progress_市民政局_2024-05.xlsx"
    ws = load_workbook(path).active
    ids = [ws.cell(r, 1).value for r in range(5, ws.max_row + 1)]
    assert ids == [t["task_id"] for t in unit_tasks(tasks, "市民政局")]
    assert ws["B2"].value == "市民政局" and ws["G4"].value == "进展状态" and ws["G5"].value is None
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists[0].formula1 == '"未开始,推进中,已完成,受阻"' and str(lists[0].sqref) == f"G5:G{ws.max_row}"
    result = parse_task_progress(path, tasks, refdata.load_units("tianshui"))
    assert not result.ok and result.errors[0].startswith("任务进展: not filled in")


def test_templates_are_byte_identical(written, tmp_path):
    again = write_templates("2024-05", str(tmp_path), city="tianshui")
    for name in written["files"]:
        assert (Path(again["folder"]) / name).read_bytes() == (Path(written["folder"]) / name).read_bytes(), name


def test_task_text_is_neutralised():
    task = {"task_id": "A3-01", "annex": 3, "item": "@重点", "measure": '=HYPERLINK("http://evil.example")',
            "deadline_raw": "-", "ongoing": False, "role": "牵头"}
    ws = build_task_progress_workbook("+单位", "2024-05", [task]).active
    assert ws["C5"].value == "'@重点" and ws["D5"].value == "'=HYPERLINK(\"http://evil.example\")"
    assert ws["E5"].value == "'-" and ws["B2"].value == "'+单位"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_cli_templates(tmp_path, capsys):
    assert main(["templates", "--period", "2024-05", "--out", str(tmp_path), "--city", "tianshui"]) == 0
    assert "annex-5 forms" in capsys.readouterr().out
    assert any(p.name.startswith("task_progress_") for p in tmp_path.iterdir())
