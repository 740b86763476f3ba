"""Registration exports: encodings, header mapping (data file + city override), XLSX cells."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from lifecircle.ingest import bulk_exports as bx

HEADER = ["统一社会信用代码", "企业名称", "住所", "行业代码", "经营范围", "成立日期", "登记状态", "核准日期", "更新时间"]
ROW = ["92620502MA00000016", "老王包子铺", "甘肃省天水市秦州区大城街道进步巷社区民主西路12号", "6291", "早餐",
       "2021-03-04", "存续", "2021-03-04", "2024-05-02T10:00:00+08:00"]


@pytest.fixture(scope="module")
def mapping():
    return bx.load_column_mapping(city="no-such-city")


def _csv(rows) -> str:
    return "".join(",".join(r) + "\r\n" for r in rows)


def test_headers_normalise_full_width_spaces_and_markers():
    assert bx.normalise_header("＊企业 名称：") == bx.normalise_header("企业名称")
    assert bx.normalise_header("住所（经营场所）") == bx.normalise_header("住所(经营场所)")
    assert bx.normalise_header("\ufeffUSCC ") == "uscc"


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"),
                                               ("gbk", "gb18030"), ("gb18030", "gb18030"), ("utf-16", "utf-16")])
def test_csv_encodings_are_detected(tmp_path, mapping, encoding, expected):
    text = _csv([HEADER, ROW])
    path = tmp_path / f"export_{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    read = bx.read_export(path, mapping)
    assert read.encoding == expected
    assert read.fields["name"] == ["老王包子铺"] and read.fields["address"] == [ROW[2]]
    assert read.row_numbers == [2]


def test_gb18030_only_characters_survive(tmp_path, mapping):
    # 𠮷 (U+20BB7) is outside GBK: only GB18030's four-byte form can carry it.
    row = [*ROW[:1], "𠮷野家快餐", *ROW[2:]]
    path = tmp_path / "gb18030.csv"
    path.write_bytes(_csv([HEADER, row]).encode("gb18030"))
    with pytest.raises(UnicodeEncodeError):
        "𠮷".encode("gbk")
    assert bx.read_export(path, mapping).fields["name"] == ["𠮷野家快餐"]


def test_title_rows_above_the_header_and_blank_rows(tmp_path, mapping):
    path = tmp_path / "titled.csv"
    path.write_text(_csv([["天水市市场主体登记信息（2024年5月）"], HEADER, ROW, [""] * len(HEADER), ROW]), "utf-8")
    read = bx.read_export(path, mapping)
    assert read.header_row == 2 and read.row_numbers == [3, 5] and read.blank_rows == 1


def test_renamed_headers_map_through_aliases_and_the_first_alias_wins(tmp_path, mapping):
    header = ["名称", "经营场所", "住所", "社会信用代码", "成立时间", "经营状态", "更新日期", "备注"]
    row = ["修鞋配钥匙", "秦州区A路", "秦州区B路", ROW[0], "2020-01-01", "在业", "2024-05-01", "x"]
    path = tmp_path / "renamed.csv"
    path.write_text(_csv([header, row]), "utf-8")
    read = bx.read_export(path, mapping)
    assert read.fields["address"] == ["秦州区B路"], "住所 is listed before 经营场所 in the mapping file"
    assert read.mapped["名称"] == "name" and read.mapped["经营状态"] == "status"
    assert read.unmapped == ["经营场所", "备注"]
    assert "industry_code" not in read.fields  # optional and absent: null in raw


def test_a_missing_required_column_rejects_the_file_naming_field_and_headers(tmp_path, mapping):
    header = [h for h in HEADER if h != "登记状态"]
    path = tmp_path / "no_status.csv"
    path.write_text(_csv([header, ROW[:-1]]), "utf-8")
    with pytest.raises(bx.ExportRejected) as exc:
        bx.read_export(path, mapping)
    msg = str(exc.value)
    assert msg.startswith("no_status.csv:") and "status" in msg and "统一社会信用代码, 企业名称" in msg


def test_city_mapping_file_adds_and_overrides_headers(tmp_path, monkeypatch):
    cfg = tmp_path / "config"
    (cfg / "cities" / "qincheng").mkdir(parents=True)
    (cfg / "cities" / "qincheng" / "registration_columns.csv").write_text(
        "canonical_field,header,note\nname,商户名称,\naddress,状态,deliberately odd: a city's own meaning wins\n",
        "utf-8")
    monkeypatch.setenv("LIFECIRCLE_CONFIG_DIR", str(cfg))
    m = bx.load_column_mapping(city="qincheng")
    assert m.field_of[bx.normalise_header("商户名称")] == "name"
    assert m.field_of["状态"] == "address"
    assert m.field_of["企业名称"] == "name"  # shared file still applies (repository copy as fallback)


def test_mapping_file_with_an_unknown_field_is_an_error(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("canonical_field,header\nuscc,代码\nowner,负责人\n", "utf-8")
    with pytest.raises(ValueError, match=r"m.csv line 3: canonical_field 'owner'"):
        bx.load_column_mapping(paths=[path])


def test_xlsx_cells_dates_numbers_and_formulas(tmp_path, mapping):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["导出时间：2024-06-01"])
    ws.append(HEADER)
    ws.append([ROW[0], "张三便利店", ROW[2], 5213, "", datetime(2021, 3, 4), "存续", date(2021, 3, 5),
               datetime(2024, 5, 2, 10, 0, 0)])
    ws.append(["=A3", "公式店", ROW[2], 5213.0, None, "2021-03-04", "存续", None, "2024-05-02T10:00:00+08:00"])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    read = bx.read_export(path, mapping)
    assert read.format == "xlsx" and read.header_row == 2 and read.row_numbers == [3, 4]
    assert read.fields["industry_code"] == ["5213", "5213"]
    assert read.fields["established_date"] == ["2021-03-04", "2021-03-04"]
    assert read.fields["approved_date"] == ["2021-03-05", None]
    assert read.fields["updated_at"][0] == "2024-05-02T10:00:00+08:00"
    assert read.fields["uscc"][1] == "=A3", "a formula lands as written, never evaluated"


def test_legacy_xls_and_undecodable_files_are_rejected(tmp_path, mapping):
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(bx.ExportRejected, match="old.xls: legacy"):
        bx.read_export(xls, mapping)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(bx.ExportRejected, match="broken.xlsx: cannot be opened"):
        bx.read_export(broken, mapping)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x81\x20\xff\xff")
    with pytest.raises(bx.ExportRejected, match="bad.csv: not valid"):
        bx.read_export(bad, mapping)


def test_export_files_skip_hidden_and_lock_files(tmp_path):
    for name in ("b.csv", "a.xlsx", ".hidden.csv", "~$a.xlsx", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in bx.export_files(tmp_path)] == ["a.xlsx", "b.csv"]
