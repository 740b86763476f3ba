"""Survey intake end to end on the real warehouse: files refused before parsing, routed by
content (not suffix), task-progress reports into staging/quarantine and core, every file
findable with its status and reasons, later upload of the same task/unit wins, re-runs
identical, and the watcher's ``pending`` sees only what is new."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.integration]
PERIOD = "2031-01"  # a month no other test uses (the test database is shared by the session)
HEADER = "任务编号,填报单位,进展状态,完成进度(%),截至日期,进展情况及备注\n"
T0 = 1_925_000_000  # 2031-01-01-ish, the files' landing times (mtime), one minute apart


def _land(folder: Path, name: str, content: bytes | str, minute: int) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.utime(path, (T0 + 60 * minute, T0 + 60 * minute))
    return path


def _bomb() -> bytes:
    """A 'workbook' whose one member expands 50 MB of zeros from ~50 kB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    return buf.getvalue()


def _progress_xlsx() -> bytes:
    """A task-progress workbook by 测试区政府 (saved under a .csv name by its sender)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "进展"
    ws.append(["一刻钟便民生活圈建设任务进展报送表"])
    ws.append(["任务编号", "填报单位", "进展状态", "完成进度(%)", "截至日期", "进展情况及备注"])
    ws.append(["A3-01", "测试区政府", "推进中", 40, "2031年1月25日", "配合选址"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def landed(warehouse_url, tiny_city, tmp_path_factory):
    from lifecircle.warehouse.reference import prepare

    prepare()
    folder = tmp_path_factory.mktemp("landing-intake")
    _land(folder, "tp_commerce.csv", HEADER + "A3-01,市商务局,推进中,60%,2031-01-20,早餐网点已布局\n"
                                            "A4-01,市商务局,已完成,100,2031-01-20,\n", 1)
    _land(folder, "tp_commerce_copy.csv", (folder / "tp_commerce.csv").read_bytes(), 2)
    _land(folder, "tp_commerce_update.csv", HEADER + "A3-01,市商务局,已完成,100,2031-01-28,全部完成\n", 3)
    _land(folder, "tp_partly.csv", HEADER + "A4-01,测试区政府,未开始,0,2031-01-20,\n"
                                          "A9-99,测试区政府,推进中,10,2031-01-20,\n", 4)
    _land(folder, "tp_unknown_unit.csv", HEADER + "A3-01,火星办事处,推进中,10,2031-01-20,\n", 5)
    _land(folder, "county_report.csv", _progress_xlsx(), 6)
    _land(folder, "bomb.xlsx", _bomb(), 7)
    _land(folder, "notes.txt", "see you next month", 8)
    return folder


@pytest.fixture(scope="module")
def first_run(landed, warehouse_url):
    from lifecircle.ingest import uploads

    counts = uploads.ingest(PERIOD, landing=str(landed))
    published = uploads.publish(PERIOD)
    return {"counts": counts, "published": published, "engine": sa.create_engine(warehouse_url)}


def _files(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT r.file_name, r.duplicate, r.landing_uri, r.landing_version, u.upload_id, u.kind, u.status,
                   u.reasons, u.stored_path, u.rows_accepted, u.rows_rejected
            FROM raw.upload_receipt r JOIN raw.upload u USING (upload_id) WHERE r.period = :p"""), {"p": PERIOD})
        return {r.file_name: r._asdict() for r in rows}


def _progress(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT task_id, unit, status, progress_pct, as_of FROM core.task_progress "
                                    "WHERE period = :p ORDER BY task_id, unit"), {"p": PERIOD})
        return {(r.task_id, r.unit): (r.status, float(r.progress_pct), r.as_of.isoformat()) for r in rows}


def test_every_landed_file_is_registered_with_status_and_reasons(first_run, landed):
    from lifecircle import settings

    files = _files(first_run["engine"])
    assert set(files) == {p.name for p in landed.iterdir()}
    for name, f in files.items():
        assert f["status"] in ("accepted", "partly_accepted", "rejected"), name
        assert isinstance(f["reasons"], list), name
        if f["status"] != "accepted":
            assert f["reasons"], f"{name}: {f['status']} without a reason"
        assert (settings.upload_store_dir() / f["stored_path"]).is_file(), name
        assert f["landing_uri"] == (landed / name).resolve().as_uri()
    assert first_run["counts"]["files"] == len(files) and first_run["counts"]["failed"] == 0


def test_statuses_and_routing_by_content(first_run):
    files = _files(first_run["engine"])
    got = {n: (f["kind"], f["status"]) for n, f in files.items() if not f["duplicate"]}
    assert got == {
        "tp_commerce.csv": ("task_progress", "accepted"),
        "tp_commerce_update.csv": ("task_progress", "accepted"),
        "tp_partly.csv": ("task_progress", "partly_accepted"),
        "tp_unknown_unit.csv": ("task_progress", "rejected"),
        "county_report.csv": ("task_progress", "accepted"),  # an .xlsx under a .csv name
        "bomb.xlsx": ("unknown", "rejected"),
        "notes.txt": ("unknown", "rejected"),
    }
    assert files["tp_commerce_copy.csv"]["duplicate"] is True
    assert files["tp_commerce_copy.csv"]["upload_id"] == files["tp_commerce.csv"]["upload_id"]
    assert first_run["counts"]["duplicates"] == 1
    assert any("zip bomb" in r or "expands" in r for r in files["bomb.xlsx"]["reasons"])
    assert any("火星办事处" in r for r in files["tp_unknown_unit.csv"]["reasons"])
    assert (files["tp_partly.csv"]["rows_accepted"], files["tp_partly.csv"]["rows_rejected"]) == (1, 1)


def test_unknown_task_is_quarantined_with_its_location(first_run):
    files = _files(first_run["engine"])
    with first_run["engine"].connect() as conn:
        problems = conn.execute(sa.text("SELECT location, reason_code, message FROM quarantine.upload "
                                        "WHERE upload_id = :u"), {"u": files["tp_partly.csv"]["upload_id"]}).all()
    errors = [p for p in problems if p.reason_code == "error"]
    assert [p.location for p in errors] == ["row 3"] and "A9-99" in errors[0].message
    assert {p.location for p in problems if p.reason_code == "warning"} == {"row 2"}  # not a unit of A4-01: kept


def test_later_upload_of_a_task_replaces_the_earlier(first_run):
    assert _progress(first_run["engine"]) == {
        ("A3-01", "市商务局"): ("completed", 100.0, "2031-01-28"),   # tp_commerce_update.csv landed later
        ("A3-01", "测试区政府"): ("in_progress", 40.0, "2031-01-25"),
        ("A4-01", "市商务局"): ("completed", 100.0, "2031-01-20"),
        ("A4-01", "测试区政府"): ("not_started", 0.0, "2031-01-20"),
    }
    assert first_run["published"]["task_progress"] == 4


def test_rejected_file_leaves_nothing_in_staging(first_run):
    files = _files(first_run["engine"])
    with first_run["engine"].connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM staging.task_progress WHERE upload_id = :u"),
                         {"u": files["tp_unknown_unit.csv"]["upload_id"]}).scalar()
    assert n == 0


def test_rerun_is_identical_and_nothing_is_pending(first_run, landed):
    from lifecircle.ingest import uploads
    from lifecircle.warehouse.checksums import checksums

    tables = ("raw.upload", "quarantine.upload", "staging.task_progress", "core.task_progress")
    before = checksums(first_run["engine"], tables)
    files_before = _files(first_run["engine"])
    assert uploads.pending(PERIOD, landing=str(landed))["pending"] == []
    uploads.ingest(PERIOD, landing=str(landed))
    uploads.publish(PERIOD)
    assert checksums(first_run["engine"], tables) == before
    assert _files(first_run["engine"]) == files_before


def test_pending_lists_new_and_replaced_files(first_run, landed):
    from lifecircle.ingest import uploads

    _land(landed, "tp_late.csv", HEADER + "A4-01,市商务局,已完成,100,2031-01-30,\n", 20)
    _land(landed, "notes.txt", "a new version under the same name", 21)
    found = uploads.pending(PERIOD, landing=str(landed))
    assert sorted(found["pending"]) == ["notes.txt", "tp_late.csv"]
    assert found["files"] == len(list(landed.iterdir()))
    assert uploads.pending("2031-02", landing=str(landed))["pending"] == sorted(p.name for p in landed.iterdir())
