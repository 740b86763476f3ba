"""The upload corpus: every tricky or malformed file goes guard → detect → parser and must
give exactly the outcome tests/fixtures/upload_corpus/expected.yaml states."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from lifecircle import refdata
from lifecircle.surveys.annex5 import parse_annex5, write_annex5
from lifecircle.surveys.detect import detect_kind
from lifecircle.surveys.file_guard import check_upload
from lifecircle.surveys.satisfaction import parse_responses, summarise, write_responses_csv
from lifecircle.surveys.task_progress import parse_task_progress

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "upload_corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
MAX_BYTES = 20 * 1024 * 1024  # as ingest.uploads.MAX_BYTES
SALT = "corpus-salt"
NOT_CORPUS = {"expected.yaml", "make_corpus.py", "__pycache__"}


@pytest.fixture(scope="module")
def refs():
    return refdata.load_tasks("tianshui"), refdata.load_units("tianshui")


def _parse(kind: str, path: Path, refs):
    if kind == "annex5":
        return parse_annex5(path)
    if kind == "satisfaction":
        return parse_responses(path, salt=SALT)
    return parse_task_progress(path, *refs)


def _ok(kind: str, result) -> bool:
    return result.ok if kind != "satisfaction" else bool(result.rows)


def _value(kind: str, result, key: str):
    if key == "n_rows":
        return len(result.rows) if kind != "annex5" else len(result.form["rows"])
    if kind == "annex5":
        if key.startswith("rows."):
            _, code, field = key.split(".")
            return next(r for r in result.form["rows"] if r["category_code"] == code)[field]
        return result.form[key]
    if kind == "satisfaction":
        if key.startswith("summary."):
            (summary,) = summarise(result.rows)
            return summary[key.split(".", 1)[1]]
        row, field = key.split(".", 1)
        return next(r for r in result.rows if r["row_no"] == int(row[3:]))[field]
    if key == "unfilled":
        return result.unfilled
    task, field = key.rsplit(".", 1)
    task, _, unit = task.partition("@")
    return next(r for r in result.rows if r["task_id"] == task and (not unit or r["unit"] == unit))[field]


def test_corpus_has_at_least_25_files_all_described():
    files = {p.name for p in CORPUS.iterdir()} - NOT_CORPUS
    assert len(files) >= 25
    assert files == set(EXPECTED), "every corpus file needs an entry in expected.yaml and vice versa"
    assert sum((CORPUS / f).stat().st_size for f in files) < 1024 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name, refs):
    spec = EXPECTED[name]
    path = CORPUS / name
    refusals = check_upload(path, MAX_BYTES)
    if "refused" in spec:
        assert any(spec["refused"] in r for r in refusals), refusals
        return
    assert refusals == []
    kind = detect_kind(path)
    assert kind == spec["kind"]
    if kind is None:
        return
    result = _parse(kind, path, refs)
    assert len(result.errors) == len(spec.get("errors", [])), result.errors
    for expected, actual in zip(spec.get("errors", []), result.errors):
        assert expected in actual
    for expected in spec.get("warnings", []):
        assert any(expected in w for w in result.warnings), (expected, result.warnings)
    assert _ok(kind, result) is spec["ok"]
    for key, expected in (spec.get("values") or {}).items():
        assert _value(kind, result, key) == expected, key


def test_oversized_upload_is_refused_before_parsing(tmp_path):
    path = tmp_path / "annex5_huge.xlsx"
    with path.open("wb") as f:  # sparse: no disk space, no time
        f.truncate(MAX_BYTES + 1)
    assert check_upload(path, MAX_BYTES) == [
        f"annex5_huge.xlsx: {MAX_BYTES + 1} bytes (20.0 MB), more than the {MAX_BYTES} bytes (20.0 MB) "
        "allowed for an upload"]


def test_committed_corpus_is_what_make_corpus_builds(tmp_path):
    from tests.fixtures.upload_corpus.make_corpus import build

    built = build(tmp_path)
    assert {p.name for p in built} == set(EXPECTED)
    changed = [p.name for p in built if p.read_bytes() != (CORPUS / p.name).read_bytes()]
    assert changed == [], "re-run make_corpus.py and review expected.yaml"


def test_personal_data_never_leaves_the_satisfaction_parser():
    for name in ("sat_wjx_utf8.csv", "sat_bad_rows.csv", "sat_duplicate_respondents.csv", "sat_export.xlsx"):
        result = parse_responses(CORPUS / name, salt=SALT)
        rows = [{k: v for k, v in r.items() if k != "respondent_hash"} for r in result.rows]
        text = repr((rows, result.errors, result.warnings))
        assert not re.search(r"139\d{8}", text), name
        assert all(len(r["respondent_hash"]) == 64 for r in result.rows)
        assert "居民" not in text and "张三" not in text and "10.0.0." not in text and "61.178." not in text, name


# ---------------------------------------------------------------- neutralisation on write-back
INJECTIONS = ['=HYPERLINK("http://evil.example","点我")', "@SUM(1+1)", "+86 139", "-2+3", " =1+1", "\t=1"]


def test_injection_text_round_trips_through_annex5_writer_neutralised(tmp_path):
    form = parse_annex5(CORPUS / "a5_injection_text.xlsx").form
    for row, text in zip(form["rows"], INJECTIONS):
        row["demand_list"] = text
    path = write_annex5(tmp_path / "back.xlsx", form)
    ws = load_workbook(path).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    written = {c.value for c in cells if isinstance(c.value, str)}
    assert {"'" + t for t in INJECTIONS} <= written
    again = parse_annex5(path).form  # read back: the original text, stored as text
    assert [r["demand_list"] for r in again["rows"][:len(INJECTIONS)]] == [t.strip() for t in INJECTIONS]


def test_injection_text_is_neutralised_by_the_report_writer(tmp_path):
    from lifecircle.report import xlsx

    sheet = xlsx.Sheet("t")
    sheet.append(INJECTIONS)
    sheet.append_columns([[t] for t in INJECTIONS])
    path = xlsx.write(tmp_path / "r.xlsx", [sheet], datetime(2024, 5, 31))
    ws = load_workbook(path).active
    for row in ws.iter_rows(min_row=1, max_row=2):
        assert [c.value for c in row] == ["'" + t for t in INJECTIONS]
        assert {c.data_type for c in row} == {"s"}


def test_injection_text_is_neutralised_in_the_responses_csv(tmp_path):
    path = write_responses_csv(tmp_path / "r.csv", [{
        "submitted_at": datetime(2024, 5, 2, 10, 0), "duration_s": 60, "ip": "10.0.0.1",
        "circle_name": "=HYPERLINK(\"http://evil.example\")", "community_name": "@SUM(1+1)",
        "satisfaction": "满意", "missing_categories": [], "phone": "-1", "name": "+x"}])
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert {v for v in rows[1] if v[:1] in "=+-@"} == set()
    assert "'@SUM(1+1)" in rows[1]
    parsed = parse_responses(path, salt=SALT).rows[0]  # read back as the original text
    assert (parsed["circle_name"], parsed["community_name"]) == ('=HYPERLINK("http://evil.example")', "@SUM(1+1)")


def test_guard_reads_only_the_central_directory_for_the_bomb():
    with zipfile.ZipFile(CORPUS / "a5_zip_bomb.xlsx") as z:
        declared = sum(i.file_size for i in z.infolist())
    assert declared > 8 * 1024 * 1024 > (CORPUS / "a5_zip_bomb.xlsx").stat().st_size * 100
