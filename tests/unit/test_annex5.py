"""Annex-5 workbook: round trip, tolerated variants, rejected input, deterministic samples."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from lifecircle.surveys import parse_annex5, write_annex5
from lifecircle.surveys.annex5 import annex5_categories, annex5_row_numbers, save_deterministic
from lifecircle.surveys.samples import MALFORMED_OUTLETS, make_sample_uploads, sample_form

AS_OF = date(2024, 5, 31)
CIRCLES = [
    {"circle_code": "TS-C01", "name": "大城生活圈", "communities": ["进步巷社区", "大城社区"]},
    {"circle_code": "TS-C02", "name": "七里墩（岷山）生活圈", "communities": ["岷山社区"]},
    {"circle_code": "TS-C03", "name": "东关生活圈", "communities": ["东关社区", "尚义巷社区"]},
    {"circle_code": "TS-C04", "name": "道北生活圈", "communities": ["道北社区"]},
]


def _form() -> dict:
    rows = []
    for i, cat in enumerate(annex5_categories()):
        rows.append({"category_code": cat["code"], "category_group": cat["group"], "outlets": i + 2,
                     "employees_10k": round(0.01 * (i + 1), 2), "chain_outlets": i // 2,
                     "satisfaction_pct": 80 + i * 0.5,
                     "demand_list": "缺少早餐店、托育站点" if cat["code"] == "breakfast" else None})
    return {"circle_name": "大城（进步巷）生活圈", "city": "天水市", "as_of": AS_OF,
            "operator_types": ["street_community", "private"], "smart_platform": True,
            "development_form": "street_block", "commercial_centres": 2,
            "residents_covered_10k": 1.35, "facility_area_share_pct": 11.2, "rows": rows}


def _edit(path: Path, **cells) -> Path:
    """Overwrite cells of a written workbook (e.g. C8="abc") and save it again."""
    wb = load_workbook(path)
    for ref, value in cells.items():
        wb.active[ref] = value
    wb.save(path)
    return path


@pytest.fixture
def written(tmp_path) -> Path:
    return write_annex5(tmp_path / "form.xlsx", _form())


ROW = annex5_row_numbers()


# ---------------------------------------------------------------- round trip
def test_round_trip_equals_input(written):
    result = parse_annex5(written)
    assert result.errors == [] and result.warnings == []
    assert result.form == _form()
    assert [r["category_code"] for r in result.form["rows"]][-1] == "quality_other"


def test_written_layout_is_the_annex5_form(written):
    ws = load_workbook(written).active
    assert ws["A1"].value == "试点便民生活圈建设情况调查表"
    assert "截至日期:2024年5月31日" in ws["A2"].value
    assert "街道(社区)☑" in ws["B3"].value and "国企□" in ws["B3"].value and "是☑" in ws["B3"].value
    assert "街坊式为主☑" in ws["G3"].value
    assert ws["A7"].value == "合  计" and ws["C7"].value == sum(r["outlets"] for r in _form()["rows"])
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:I1", "A8:A21", "A22:A30", "A7:B7", "G6:I6"} <= merged
    assert ws.cell(ROW["basic_other"], 2).value == "其他" and ws.cell(ROW["quality_other"], 2).value == "其他"
    assert ws.cell(ROW["quality_other"] + 1, 1).value == "说明"


def test_blank_template_keeps_circle_and_communities(tmp_path):
    form = dict(_form(), blank=True, communities=["进步巷社区", "大城社区"])
    path = write_annex5(tmp_path / "blank.xlsx", form)
    texts = [c.value for row in load_workbook(path).active.iter_rows() for c in row if c.value]
    assert "生活圈包含社区:进步巷社区、大城社区" in texts
    result = parse_annex5(path)
    assert result.form is None and not result.ok
    assert result.errors == ["Sheet1: form not filled in (no figures in the header block or the category "
                             "table: a blank template?), expected the circle's outlets, employees, chain "
                             "outlets and satisfaction"]


def test_injection_text_is_neutralised_on_write_and_restored_on_read(tmp_path):
    form = _form()
    form["rows"][0]["demand_list"] = '=HYPERLINK("http://evil.example","点我")'
    form["rows"][1]["demand_list"] = "@SUM(1+1)"
    form["rows"][2]["demand_list"] = " -2+3"
    path = write_annex5(tmp_path / "inj.xlsx", form)
    ws = load_workbook(path).active
    cells = {ws.cell(ROW[r["category_code"]], 7).value: ws.cell(ROW[r["category_code"]], 7).data_type
             for r in form["rows"][:3]}
    assert cells == {"'=HYPERLINK(\"http://evil.example\",\"点我\")": "s", "'@SUM(1+1)": "s", "' -2+3": "s"}
    assert parse_annex5(path).form["rows"][:3] == form["rows"][:3][:2] + [dict(form["rows"][2], demand_list="-2+3")]


def test_write_is_byte_identical_and_stamped_from_as_of(tmp_path):
    a = write_annex5(tmp_path / "a.xlsx", _form())
    b = write_annex5(tmp_path / "b.xlsx", _form())
    assert a.read_bytes() == b.read_bytes()
    core = zipfile.ZipFile(a).read("docProps/core.xml").decode()
    assert "2024-05-31T00:00:00Z" in core


# ---------------------------------------------------------------- tolerated input
@pytest.mark.parametrize("typed, expected", [
    ("90%", 90.0), (0.9, 90.0), (90, 90.0), ("９０％", 90.0), ("0.9", 90.0), (" 87.5 ", 87.5),
    ("８７．５", 87.5), (1, 100.0), (0, 0.0),
])
def test_satisfaction_variants(written, typed, expected):
    _edit(written, **{f"F{ROW['pharmacy']}": typed})
    row = next(r for r in parse_annex5(written).form["rows"] if r["category_code"] == "pharmacy")
    assert row["satisfaction_pct"] == expected


@pytest.mark.parametrize("typed", [
    "试点生活圈:大城（进步巷）生活圈  所在城市:天水市  截至日期:2024-05-31",
    "试点生活圈：大城（进步巷）生活圈　所在城市：天水市　截至日期：2024/5/31",
    "试点生活圈: 大城（进步巷）生活圈  所在城市: 天水市 截至日期: 2024 年 5 月 31 日",
    " 试点生活圈：大城（进步巷）生活圈 所在城市：天水市 截止日期：２０２４年５月３１日 ",
])
def test_as_of_variants(written, typed):
    _edit(written, A2=typed)
    form = parse_annex5(written).form
    assert (form["as_of"], form["circle_name"], form["city"]) == (AS_OF, "大城（进步巷）生活圈", "天水市")


def test_split_headline_with_excel_date_cell(tmp_path):
    wb = load_workbook(write_annex5(tmp_path / "f.xlsx", _form()))
    ws = wb.active
    ws.unmerge_cells("A2:I2")
    ws["A2"], ws["B2"], ws["D2"], ws["E2"] = "试点生活圈", " 大城（进步巷）生活圈 ", "所在城市", "天水市"
    ws["G2"], ws["H2"] = "截至日期：", datetime(2024, 5, 31)
    wb.save(tmp_path / "f.xlsx")
    assert parse_annex5(tmp_path / "f.xlsx").form == _form()


@pytest.mark.parametrize("operator_text, expected", [
    ("街道(社区)√ 国企□ 民营企业√ 专业运营商□ 网点各自经营□", ["street_community", "private"]),
    ("√街道（社区） 国企 √民营企业 专业运营商 网点各自经营", ["street_community", "private"]),
    ("街道(社区)打√ 国企 民营企业 专业运营商■ 网点各自经营", ["street_community", "professional_operator"]),
    ("街道(社区)✓ 国企☑ 民营企业□ 专业运营商□ 网点各自经营✔", ["street_community", "state_owned", "self_run"]),
])
def test_operator_marks(written, operator_text, expected):
    _edit(written, B3=operator_text + "\n另:是否有便民生活圈智慧服务平台 是□ 否√")
    form = parse_annex5(written).form
    assert form["operator_types"] == expected and form["smart_platform"] is False


def test_category_name_variants(written):
    _edit(written, **{f"B{ROW['fresh_food_store']}": "生鲜超市（菜店）",
                      f"B{ROW['post_parcel']}": "邮政快递综合服务点",
                      f"B{ROW['hair_beauty']}": " 美容美发 ",
                      f"B{ROW['convenience_store']}": "便 利 店"})
    assert parse_annex5(written).form == _form()
    for variant in ("生鲜超市", "菜店"):
        _edit(written, **{f"B{ROW['fresh_food_store']}": variant})
        assert parse_annex5(written).form == _form()


def test_hand_made_variant_layout_with_blank_and_note_rows(tmp_path):
    """Different addresses, no merges, blank and note rows: fields are found by label."""
    wb = Workbook()
    ws = wb.active
    ws.title = "调查表"
    ws.append(["试点便民生活圈建设情况调查表"])
    ws.append([])
    ws.append(["试点生活圈：", "东关生活圈", "所在城市：", "天水市", "截至日期：", "2024/5/31"])
    ws.append(["运营主体（多选，打√）", "街道(社区)□ 国企□ 民营企业☑ 专业运营商□ 网点各自经营□",
               "另：是否有便民生活圈智慧服务平台", "否", "发展 形态", "集聚式为主□ 街坊式为主□ 分布式为主☑"])
    ws.append(["社区商业中心(邻里中心)数量(座)", "１", "生活圈服务覆盖的居民数量(万人)", "2.5"])
    ws.append(["社区商业和综合服务设施面积占社区总建筑面积的比例(%)", "12%"])
    ws.append([])
    ws.append(["分 类", "主要业态网点", "商业网点(店铺)数量合计(个)", "从业人数(万人)",
               "其中：品牌连锁店数量(个)", "居民满意度(%)", "问需于民调查时居民反映还“缺什么”(需求清单)"])
    ws.append(["合 计", None, 7, 0.05, 2])
    ws.append(["基本保障类", "1.便利店", 5, 0.03, 2, "92%", "希望24小时营业 "])
    ws.append([None, None, None, None, None, None, None])
    ws.append([None, "注：以下为社区自报", None])
    ws.append([None, "其他", 1, 0.01, 0, None, None])
    ws.append(["品质提升类", "托育站点", 0, 0, 0, None, "缺少托育站点"])
    ws.append([None, "其他", 1, 0.01, 0, 0.95, None])
    ws.append(["说明", "1.此表为调查明细表"])
    ws.append([None, "奶茶店", "abc"])  # below 说明: never read
    path = tmp_path / "variant.xlsx"
    wb.save(path)
    result = parse_annex5(path)
    assert result.errors == []
    form = result.form
    assert (form["circle_name"], form["city"], form["as_of"]) == ("东关生活圈", "天水市", AS_OF)
    assert form["operator_types"] == ["private"] and form["smart_platform"] is False
    assert form["development_form"] == "dispersed"
    assert (form["commercial_centres"], form["residents_covered_10k"], form["facility_area_share_pct"]) \
        == (1, 2.5, 12.0)
    assert form["rows"] == [
        {"category_code": "convenience_store", "category_group": "basic", "outlets": 5,
         "employees_10k": 0.03, "chain_outlets": 2, "satisfaction_pct": 92.0, "demand_list": "希望24小时营业"},
        {"category_code": "basic_other", "category_group": "basic", "outlets": 1,
         "employees_10k": 0.01, "chain_outlets": 0, "satisfaction_pct": None, "demand_list": None},
        {"category_code": "childcare", "category_group": "quality", "outlets": 0,
         "employees_10k": 0.0, "chain_outlets": 0, "satisfaction_pct": None, "demand_list": "缺少托育站点"},
        {"category_code": "quality_other", "category_group": "quality", "outlets": 1,
         "employees_10k": 0.01, "chain_outlets": 0, "satisfaction_pct": 95.0, "demand_list": None},
    ]
    assert any("rows missing for" in w for w in result.warnings)


# ---------------------------------------------------------------- rejected input
@pytest.mark.parametrize("cells, message", [
    ({"C8": "abc"}, "Sheet1!C8: outlets for 便利店 is 'abc', expected a whole number ≥ 0"),
    ({"C9": -3}, "Sheet1!C9: outlets for 综合超市 is -3, expected a whole number ≥ 0"),
    ({"C9": 2.5}, "Sheet1!C9: outlets for 综合超市 is 2.5, expected a whole number ≥ 0"),
    ({"D10": "-0.1"}, "Sheet1!D10: employees_10k for 菜市场 is '-0.1', expected a number ≥ 0 (10k persons)"),
    ({"F11": 120}, "Sheet1!F11: satisfaction_pct for 生鲜超市(菜店) is 120, expected a percentage 0–100 "
                   "(values ≤ 1 are read as fractions)"),
    ({"E12": 99}, "Sheet1!E12: chain_outlets for 早餐店 is 99, expected at most the outlets (6)"),
    ({"B13": "奶茶店"}, "Sheet1!B13: unknown category row '奶茶店', expected an annex-5 category name "
                      "(便利店, 综合超市, … 休闲娱乐, 其他)"),
    ({"A2": "试点生活圈:   所在城市:天水市  截至日期:2024年5月31日"},
     "Sheet1!A2: 试点生活圈 (circle name) is empty, expected the circle name"),
    ({"A2": "试点生活圈:大城生活圈  所在城市:天水市"},
     "Sheet1: no 截至日期 (as-of date) label found, expected a line 试点生活圈: … 所在城市: … 截至日期: …"),
    ({"A2": "试点生活圈:大城生活圈  所在城市:天水市  截至日期:2024年2月30日"},
     "Sheet1!A2: 截至日期 (as-of date) is '2024年2月30日', expected a date such as 2024年5月31日, "
     "2024-05-31 or 2024/5/31"),
    ({"D4": "两座"}, "Sheet1!D4: 社区商业中心(邻里中心)数量 is '两座', expected a whole number ≥ 0"),
])
def test_untrusted_values_are_errors(written, cells, message):
    result = parse_annex5(_edit(written, **cells))
    assert result.form is None
    assert result.errors == [message]


def test_formula_cell_is_rejected(written):
    result = parse_annex5(_edit(written, C9="=1+1", C7="=SUM(C8:C30)"))
    assert result.form is None
    assert result.errors == [
        "Sheet1!C7: holds a formula '=SUM(C8:C30)', expected a typed-in value (formulas are never evaluated)",
        "Sheet1!C9: holds a formula '=1+1', expected a typed-in value (formulas are never evaluated)",
    ]


def test_not_a_workbook(tmp_path):
    path = tmp_path / "annex5.xlsx"
    path.write_text("not a zip")
    result = parse_annex5(path)
    assert result.form is None and result.errors[0].startswith("annex5.xlsx: cannot be opened as an .xlsx")


def test_huge_sheet_is_read_only_at_the_top(written):
    wb = load_workbook(written)
    wb.active.cell(1_048_576, 1, "stray")
    wb.save(written)
    result = parse_annex5(written)
    assert result.form == _form()
    assert result.warnings == ["Sheet1: only the first 500 rows and 40 columns were read"]


def test_known_category_outside_annex5_is_kept_with_a_warning(written):
    result = parse_annex5(_edit(written, **{f"B{ROW['quality_other']}": "社区食堂"}))
    assert result.errors == []
    assert result.form["rows"][-1]["category_code"] == "community_canteen"
    assert "Sheet1!B30: '社区食堂' is not a row of annex 5; kept as community_canteen" in result.warnings


def test_duplicate_category_row(written):
    result = parse_annex5(_edit(written, B9="便利店"))
    assert result.errors == ["Sheet1!B9: category 便利店 appears again (first at row 8), "
                             "expected each category once"]


# ---------------------------------------------------------------- sample uploads
@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> list[Path]:
    return make_sample_uploads(tmp_path_factory.mktemp("up"), CIRCLES, AS_OF, seed=7)


def test_sample_uploads_names(uploads):
    assert [p.name for p in uploads] == sorted(
        [f"annex5_{c['circle_code']}_2024-05.xlsx" for c in CIRCLES]
        + [f"satisfaction_{c['circle_code']}_2024-05.csv" for c in CIRCLES])


def test_sample_good_and_messy_workbooks_parse_to_the_form(uploads):
    for circle in CIRCLES[:-1]:
        path = next(p for p in uploads if p.name == f"annex5_{circle['circle_code']}_2024-05.xlsx")
        expected = sample_form(circle, AS_OF, 7)
        expected.pop("communities")
        result = parse_annex5(path)
        assert result.errors == [] and result.form == expected, path.name


def test_sample_messy_workbook_is_really_messy(uploads):
    ws = load_workbook(uploads[1]).active  # annex5_TS-C02
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert any(isinstance(v, str) and any("０" <= ch <= "９" for ch in v) for v in values)
    assert any(isinstance(v, str) and v.endswith("%") for v in values)
    assert "√" in ws["B3"].value and "☑" not in ws["B3"].value
    assert "生鲜超市（菜店）" in values and isinstance(ws["H2"].value, datetime)


def test_sample_malformed_workbook_errors(uploads):
    result = parse_annex5(uploads[3])  # annex5_TS-C04
    assert result.form is None
    assert result.errors == [
        "Sheet1!A2: 截至日期 (as-of date) is '2024年  月  日', expected a date such as 2024年5月31日, "
        "2024-05-31 or 2024/5/31",
        f"Sheet1!C8: outlets for 便利店 is '{MALFORMED_OUTLETS}', expected a whole number ≥ 0",
    ]


def test_sample_uploads_are_deterministic(uploads, tmp_path):
    again = make_sample_uploads(tmp_path / "again", CIRCLES, AS_OF, seed=7)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in uploads]
    other = make_sample_uploads(tmp_path / "other", CIRCLES, AS_OF, seed=8)
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in uploads]


def test_sample_uploads_identical_in_another_process(uploads, tmp_path):
    """Guards against set/dict ordering leaking into the bytes (PYTHONHASHSEED)."""
    code = ("import sys, json; from datetime import date; from pathlib import Path; "
            "from lifecircle.surveys.samples import make_sample_uploads; "
            "make_sample_uploads(Path(sys.argv[1]), json.loads(sys.argv[2]), date(2024, 5, 31), 7)")
    import json

    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(tmp_path), json.dumps(CIRCLES)], check=True, env=env)
    assert [(tmp_path / p.name).read_bytes() for p in uploads] == [p.read_bytes() for p in uploads]


def test_save_deterministic_ignores_the_clock(tmp_path):
    wb = Workbook()
    a = save_deterministic(wb, tmp_path / "a.xlsx", datetime(2024, 5, 31))
    b = save_deterministic(wb, tmp_path / "b.xlsx", datetime(2024, 5, 31))
    assert a.read_bytes() == b.read_bytes()
    assert {i.date_time for i in zipfile.ZipFile(a).infolist()} == {(2024, 5, 31, 0, 0, 0)}
