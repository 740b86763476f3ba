"""The analysts' workbook (report.xlsx) opened with openpyxl: sheets, figures equal to the
mart, an annex-5-style sheet per circle, formula injection neutralised, stable bytes."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from lifecircle.report.workbook import cell_value, safe_text, sheet_title
from tests.fixtures.tiny_city import MONTH

INJECTION = '=HYPERLINK("http://evil.example","点我")'


@pytest.mark.parametrize("text, expected", [
    ("=1+1", "'=1+1"), ("+86 123", "'+86 123"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("便利店", "便利店"), ("a=b", "a=b"), ("", ""),
])
def test_safe_text(text, expected):
    assert safe_text(text) == expected


def test_cell_value_types():
    from decimal import Decimal

    assert cell_value(Decimal("0.6667")) == 0.6667 and cell_value(float("nan")) is None and cell_value(pd.NA) is None
    assert cell_value(["市商务局", "=x"]) == "市商务局、=x" and cell_value(["=x"]) == "'=x"
    assert cell_value(date(2024, 5, 31)) == date(2024, 5, 31) and cell_value(True) is True


def test_sheet_titles_are_valid_and_unique():
    taken: set[str] = set()
    a = sheet_title("圈-A/B:[1]*?" + "x" * 40, taken)
    b = sheet_title("圈-A/B:[1]*?" + "x" * 40, taken)
    assert len(a) <= 31 and len(b) <= 31 and a != b
    assert not set(a) & set("[]:*?/\\")




@pytest.fixture(scope="module")
def workbook(built_month):
    engine = built_month["engine"]
    with engine.begin() as conn:
        conn.execute(sa.text("""INSERT INTO core.task_progress (task_id, unit, period, status, progress_pct, as_of, notes)
            VALUES ('A3-01', '市商务局', :p, 'in_progress', 40, '2024-05-31', :n)"""), {"p": MONTH, "n": INJECTION})
    try:
        out = built_month["make"]()
        yield {"path": Path(out["workbook"]), "html": Path(out["report"]).read_text(encoding="utf-8"),
               "wb": openpyxl.load_workbook(out["workbook"]), "engine": engine}
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM core.task_progress WHERE period = :p"), {"p": MONTH})
        built_month["make"]()


def _sheet_frame(ws) -> pd.DataFrame:
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.mark.integration
def test_sheets_present(workbook):
    assert workbook["wb"].sheetnames == ["指标", "进度", "社区业态", "任务", "数据质量", "数据时效", "圈-TC01"]


@pytest.mark.integration
def test_indicator_figures_equal_the_mart(workbook):
    mart = pd.read_sql(sa.text("SELECT level, unit_code, indicator, value FROM mart.coverage_indicator WHERE period = :p"),
                       workbook["engine"], params={"p": MONTH})
    sheet = _sheet_frame(workbook["wb"]["指标"])
    assert len(sheet) == len(mart)
    got = {(r.level, r.unit_code, r.indicator): r.value for r in sheet.itertuples()}
    for r in mart.itertuples():
        v = got[(r.level, r.unit_code, r.indicator)]
        # an empty cell reads back as NaN once the column is numeric
        assert (pd.isna(v) and pd.isna(r.value)) or v == pytest.approx(float(r.value)), (r.level, r.unit_code, r.indicator)
    city = {k[2]: v for k, v in got.items() if k[0] == "city"}
    assert city["communities_covered_share"] == pytest.approx(0.6667, abs=1e-4)
    assert city["residents_covered_share"] == pytest.approx(0.5)


@pytest.mark.integration
def test_progress_sheet_equals_the_mart(workbook):
    sheet = _sheet_frame(workbook["wb"]["进度"]).set_index(["level", "unit_code", "indicator"])
    mart = pd.read_sql(sa.text("SELECT * FROM mart.monthly_progress WHERE period = :p"), workbook["engine"],
                       params={"p": MONTH}).set_index(["level", "unit_code", "indicator"])
    assert set(sheet.index) == set(mart.index)
    for col in ("value", "target_value", "gap", "projected_value", "months_to_due"):
        assert col in sheet.columns
    key = ("city", "990100", "communities_covered_share")
    assert sheet.at[key, "target_value"] == pytest.approx(0.7) and sheet.at[key, "status"] == mart.at[key, "status"]
    assert sheet.at[key, "months_to_due"] == 7


@pytest.mark.integration
def test_access_sheet(workbook):
    sheet = _sheet_frame(workbook["wb"]["社区业态"]).set_index(["community_code", "category_code"])
    assert len(sheet) == 9
    assert sheet.at[("990101001003", "pharmacy"), "nearest_m"] == pytest.approx(1200.0, abs=0.5)
    assert workbook["wb"]["社区业态"].cell(2, 1).value == MONTH
    assert not sheet.at[("990101001003", "pharmacy"), "present"]


@pytest.mark.integration
def test_circle_sheet_annex5_style(workbook):
    ws = workbook["wb"]["圈-TC01"]
    rows = list(ws.iter_rows(values_only=True))
    assert "甲乙一刻钟便民生活圈" in rows[0][0]
    header = next(i for i, r in enumerate(rows) if r[1] == "业态")
    body = {r[1]: dict(zip(rows[header], r)) for r in rows[header + 1:] if r[1]}
    assert list(body)[:3] == ["便利店", "药店", "新式书店"]       # annex-5 order: basic first
    assert body["便利店"]["测算：地图网点数"] == 2 and body["便利店"]["测算：登记在营网点数"] == 2
    assert body["便利店"]["测算：其中连锁"] == 2
    assert body["药店"]["测算：步行可达社区数"] == 2
    assert body["药店"]["测算：步行可达居民比例"] == pytest.approx(1.0)
    assert rows[-1][0] == "合计"


@pytest.mark.integration
def test_formula_injection_neutralised(workbook):
    ws = workbook["wb"]["任务"]
    sheet = _sheet_frame(ws).set_index("task_id")
    assert sheet.at["A3-01", "last_notes"] == "'" + INJECTION
    assert sheet.at["A3-01", "last_status"] == "in_progress"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    # the HTML shows the report and the unit is no longer listed as silent
    assert "40%" in workbook["html"] and "本月未报送进展的牵头单位：</strong>无" in workbook["html"]


@pytest.mark.integration
def test_workbook_bytes_are_stable(workbook, built_month):
    first = workbook["path"].read_bytes()
    built_month["make"]()
    assert workbook["path"].read_bytes() == first
    assert workbook["wb"].properties.created.date() == date(2024, 5, 31)
