"""Registration bulk exports end to end on real PostgreSQL: GBK / GB18030 CSV, XLSX, a
renamed-header export, a duplicate file and a file missing a required column; Parquet
landing partitioned by load date; exports alone and together with the API."""
from __future__ import annotations

import os
import shutil

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration
MONTH = "2024-05"
HEADER = ["统一社会信用代码", "企业名称", "住所", "行业代码", "经营范围", "成立日期", "登记状态", "核准日期", "更新时间"]


def _row(serial, name, comm, industry="5213", status="存续", updated="2024-05-10T09:00:00+08:00"):
    from tests.fixtures.tiny_city import uscc
    return [uscc(serial, "92"), name, f"甘肃省测试市测试区测试街道{comm}测试路{serial}号", industry, "零售",
            "2023-06-01", status, "2023-06-01", updated]


def _csv(rows) -> str:
    return "".join(",".join(r) + "\r\n" for r in rows)


def write_city_mapping(config) -> None:
    """The tiny city's own header for the status field (used by d_renamed.csv)."""
    (config / "cities/tiny/registration_columns.csv").write_text(
        "canonical_field,header,note\nstatus,商户状态,this city's own header\n", "utf-8")


def write_exports(folder):
    """Five files: GBK, GB18030 (with a character GBK lacks), XLSX, renamed headers
    (one the tiny city's own mapping file adds), a copy of the GBK file, and one export
    without a status column."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a_gbk.csv").write_bytes(_csv([HEADER, _row(201, "甲便利店", "甲社区"),
                                             _row(202, "乙药房", "乙社区", "5251")]).encode("gbk"))
    (folder / "b_gb18030.csv").write_bytes(_csv([HEADER, _row(203, "𠮷祥书屋", "丙社区", "5243"),
                                                 ["91620502X", "坏码店", "甲社区", "5213", "", "2024-05-01", "存续", "",
                                                  "2024-05-10T09:00:00+08:00"]]).encode("gb18030"))
    wb = Workbook()
    wb.active.append(["测试市市场主体登记导出"])
    wb.active.append(HEADER)
    for r in (_row(204, "丙便利店", "丙社区"), _row(205, "甲书店", "甲社区", "5243", "注销")):
        wb.active.append(r)
    wb.save(folder / "c_export.xlsx")
    renamed = ["信用代码", "名称", "经营场所", "商户状态", "成立时间", "最后更新时间", "备注"]
    r = _row(206, "修鞋配钥匙", "乙社区")
    (folder / "d_renamed.csv").write_text(_csv([renamed, [r[0], r[1], r[2], "在业", r[5], r[8], "无"]]), "utf-8")
    shutil.copy(folder / "a_gbk.csv", folder / "e_copy_of_a.csv")
    (folder / "f_no_status.csv").write_text(_csv([[h for h in HEADER if h != "登记状态"], _row(207, "x", "甲社区")[:8]]),
                                            "utf-8-sig")


@pytest.fixture(scope="module")
def prepared(tiny_city, warehouse_url):
    from lifecircle.warehouse.reference import prepare

    prepare()


@pytest.fixture()
def exports(prepared, tiny_city, tmp_path, monkeypatch):
    write_city_mapping(tiny_city["config"])
    folder = tmp_path / "exports"
    write_exports(folder)
    monkeypatch.setenv("LIFECIRCLE_REGISTRATION_EXPORTS_DIR", str(folder))
    monkeypatch.setenv("LIFECIRCLE_RAW_LANDING_DIR", str(tmp_path / "raw"))
    monkeypatch.delenv("AIRFLOW_CONN_REGISTRY_API", raising=False)
    yield folder
    (tiny_city["config"] / "cities/tiny/registration_columns.csv").unlink()


def _q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def test_exports_only_land_every_file_once(exports, warehouse_url, tmp_path):
    from lifecircle.ingest import registrations

    engine = sa.create_engine(warehouse_url)
    out = registrations.extract(MONTH)
    assert out["api"] == "not configured" and out["api_rows"] == 0
    assert (out["files_landed"], out["files_skipped_duplicate"], out["files_rejected"]) == (4, 1, 1)
    assert out["bulk_rows"] == out["rows"] == 7 and out["rejected_files"] == ["f_no_status.csv"]

    files = {r.file_name: r for r in _q(engine, "SELECT * FROM raw.registration_file WHERE load_id = :l",
                                        l=out["load_id"])}
    assert set(files) == {"a_gbk.csv", "b_gb18030.csv", "c_export.xlsx", "d_renamed.csv", "f_no_status.csv"}
    assert files["a_gbk.csv"].encoding == "gb18030" and files["c_export.xlsx"].encoding is None
    assert files["d_renamed.csv"].columns["mapped"]["商户状态"] == "status"
    assert files["d_renamed.csv"].columns["unmapped"] == ["备注"]
    rejected = files["f_no_status.csv"]
    assert rejected.status == "rejected" and rejected.rows == 0
    assert "f_no_status.csv" in rejected.message and "status" in rejected.message and "企业名称" in rejected.message

    rows = _q(engine, "SELECT source, file_name, file_hash, page_no, row_no, name, status FROM raw.registration "
                      "WHERE load_id = :l ORDER BY page_no DESC, row_no", l=out["load_id"])
    assert {r.source for r in rows} == {"bulk"}
    assert [(r.file_name, r.row_no, r.name) for r in rows] == [
        ("a_gbk.csv", 2, "甲便利店"), ("a_gbk.csv", 3, "乙药房"), ("b_gb18030.csv", 2, "𠮷祥书屋"),
        ("b_gb18030.csv", 3, "坏码店"), ("c_export.xlsx", 3, "丙便利店"), ("c_export.xlsx", 4, "甲书店"),
        ("d_renamed.csv", 2, "修鞋配钥匙")]
    assert all(r.file_hash == files[r.file_name].file_hash for r in rows)

    # The Parquet landing holds the same rows, in the period-end partition.
    part = tmp_path / "raw/registrations/load_date=2024-05-31"
    landed = pq.read_table(part).to_pandas()
    assert sorted(landed["name"]) == sorted(r.name for r in rows)
    assert {"load_id", "source", "file_hash"} <= set(landed.columns)
    assert set(landed["load_id"]) == {out["load_id"]}

    val = registrations.validate(MONTH)
    assert val["accepted"] == 6 and val["quarantined_rows"] == 1
    q = _q(engine, "SELECT source, file_name, row_no, reason_code FROM quarantine.registration WHERE load_id = :l",
           l=out["load_id"])
    assert [(r.source, r.file_name, r.row_no) for r in q] == [("bulk", "b_gb18030.csv", 3)]
    assert q[0].reason_code.startswith("uscc_")


def test_files_imported_by_an_earlier_period_are_skipped(exports, warehouse_url):
    from lifecircle.ingest import registrations

    registrations.extract(MONTH)
    later = registrations.extract("2024-06")
    assert later["files_landed"] == 0 and later["rows"] == 0
    assert later["files_skipped_duplicate"] == 5 and later["files_rejected"] == 1
    engine = sa.create_engine(warehouse_url)
    (details,) = _q(engine, "SELECT details FROM raw.load WHERE load_id = 'registrations:2024-06'")[0]
    assert {d["imported_by"] for d in details["duplicate_files"]} == {"registrations:2024-05"}
    # Re-running the period that first imported them lands them again (same rows).
    assert registrations.extract(MONTH)["files_landed"] == 4


def test_api_and_exports_are_both_read(exports, warehouse_url, tiny_city):
    from lifecircle.devservers import RegistryServer
    from lifecircle.ingest import registrations

    with RegistryServer(tiny_city["citydata"] / "registry/registrations.jsonl", "both-token") as server:
        os.environ["AIRFLOW_CONN_REGISTRY_API"] = f"http://:both-token@127.0.0.1:{server.port}?page_size=3"
        out = registrations.extract(MONTH)
    assert out["api"] == "configured" and out["api_rows"] == 7 and out["pages"] == 3
    assert out["bulk_rows"] == 7 and out["files_landed"] == 4
    engine = sa.create_engine(warehouse_url)
    rows = _q(engine, "SELECT source, count(*), count(file_hash) FROM raw.registration WHERE load_id = :l "
                      "GROUP BY 1 ORDER BY 1", l=out["load_id"])
    assert [tuple(r) for r in rows] == [("api", 7, 0), ("bulk", 7, 7)]
    (details,) = _q(engine, "SELECT details FROM raw.load WHERE load_id = :l", l=out["load_id"])[0]
    assert details["files_skipped_duplicate"] == 1
