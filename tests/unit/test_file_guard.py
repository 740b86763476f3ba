"""file_guard: uploads refused before any parser opens them, from the zip's central
directory and the first bytes only."""
from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import pytest

from lifecircle.surveys import file_guard
from lifecircle.surveys.file_guard import check_upload

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "upload_corpus"
MB = 1024 * 1024


def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_a_clean_workbook_and_a_csv_pass():
    assert check_upload(CORPUS / "a5_clean.xlsx", 20 * MB) == []
    assert check_upload(CORPUS / "sat_wjx_utf8.csv", 20 * MB) == []


def test_size_cap_is_checked_first(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" * 300)
    assert check_upload(path, 1000) == ["big.csv: 1200 bytes (0.0 MB), more than the 1000 bytes (0.0 MB) "
                                        "allowed for an upload"]


def test_total_uncompressed_and_member_caps(tmp_path, monkeypatch):
    path = _zip(tmp_path / "w.xlsx", {f"xl/part{i}.xml": b"<a/>" * 50 for i in range(5)})
    monkeypatch.setattr(file_guard, "MAX_UNCOMPRESSED", 500)
    monkeypatch.setattr(file_guard, "MAX_MEMBERS", 3)
    assert check_upload(path, 20 * MB) == [
        "w.xlsx: 5 zip members, at most 3 allowed",
        "w.xlsx: expands to 1000 bytes (0.0 MB) uncompressed, at most 500 bytes (0.0 MB) allowed (zip bomb?)"]


def test_ratio_is_ignored_for_small_members(tmp_path):
    # 1 MiB of one byte deflates ~1000:1 but cannot hurt anyone; one byte more is a bomb
    assert check_upload(_zip(tmp_path / "ok.xlsx", {"xl/a.xml": b" " * MB}), 20 * MB) == []
    refused = check_upload(_zip(tmp_path / "bomb.xlsx", {"xl/a.xml": b" " * (MB + 1)}), 20 * MB)
    assert len(refused) == 1 and "expands" in refused[0] and "at most 100:1 allowed (zip bomb)" in refused[0]


def test_overlapping_members_are_refused(tmp_path):
    path = tmp_path / "overlap.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("xl/a.xml", bytes(range(256)) * 8)
        first = z.filelist[0]
        for i in range(4):  # four more central-directory entries pointing at the same data
            twin = copy.copy(first)
            twin.filename = twin.orig_filename = f"xl/b{i}.xml"
            z.filelist.append(twin)
            z.NameToInfo[twin.filename] = twin
    refused = check_upload(path, 20 * MB)
    assert any("overlapping members: zip bomb" in r for r in refused), refused


@pytest.mark.parametrize("member", ["../evil.sh", "/etc/passwd", "C:/Windows/evil.dll", "xl/../../evil",
                                    "..\\..\\evil.bat"])
def test_path_traversal_names(tmp_path, member):
    refused = check_upload(_zip(tmp_path / "t.xlsx", {"xl/workbook.xml": b"<w/>", member: b"x"}), 20 * MB)
    assert refused == [f"t.xlsx: member name {member!r} points outside the archive (path traversal), "
                       "expected relative names such as xl/worksheets/sheet1.xml"]


@pytest.mark.parametrize("member, fragment", [
    ("xl/vbaProject.bin", "holds macros (xl/vbaProject.bin)"),
    ("xl/macrosheets/sheet1.xml", "holds macros (xl/macrosheets/sheet1.xml)"),
    ("xl/embeddings/Book1.xlsx", "nested archive or embedded file 'xl/embeddings/Book1.xlsx'"),
    ("docs/a.7z", "nested archive or embedded file 'docs/a.7z'"),
])
def test_macros_and_nested_archives(tmp_path, member, fragment):
    refused = check_upload(_zip(tmp_path / "m.xlsx", {"xl/workbook.xml": b"<w/>", member: b"x"}), 20 * MB)
    assert len(refused) == 1 and fragment in refused[0]


def test_printer_settings_bin_is_allowed(tmp_path):
    members = {"xl/workbook.xml": b"<w/>", "xl/printerSettings/printerSettings1.bin": b"\x00" * 100}
    assert check_upload(_zip(tmp_path / "p.xlsx", members), 20 * MB) == []


def test_encrypted_member_flag(tmp_path):
    data = bytearray(_zip(tmp_path / "e.xlsx", {"xl/workbook.xml": b"<w/>"}).read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1  # set the "encrypted" bit (zipfile cannot write encrypted members)
    path = tmp_path / "e.xlsx"
    path.write_bytes(bytes(data))
    assert any("is encrypted" in r for r in check_upload(path, 20 * MB))


def test_damaged_zip_and_binary_csv(tmp_path):
    bad = tmp_path / "d.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x01" * 200)
    assert check_upload(bad, 20 * MB)[0].startswith("d.xlsx: damaged zip/.xlsx (")
    nul = tmp_path / "n.csv"
    nul.write_bytes(b"a,b\n1,\x002\n")
    assert check_upload(nul, 20 * MB) == ["n.csv: binary content (NUL byte at offset 6), expected a text CSV "
                                          "(UTF-8 or GBK); UTF-16 exports must be saved as UTF-8"]


def test_missing_file(tmp_path):
    assert check_upload(tmp_path / "gone.csv", 10) == ["gone.csv: cannot be read (FileNotFoundError), "
                                                       "expected a readable file"]
