"""Refuse an uploaded file before any parser opens it.

Why: survey files come from outside (communities, units, survey platforms). An .xlsx is
a zip of XML parts, so a 50 kB upload can expand to gigabytes (zip bomb), carry macros,
nest archives or name members ``../../etc/passwd``. Everything here is decided from the
zip's central directory (``ZipFile.infolist``: declared sizes, names, flags) and from
the first bytes of the file — nothing is decompressed except the first 4 kB of each XML
part (after the size caps passed) to spot a DTD (XML entity expansion). Python's
``zipfile`` never returns more than a member's declared size (a lying header fails its
CRC check), so the caps on declared sizes hold when openpyxl reads the file later.

``check_upload`` returns refusal messages, each naming the file, what was found and what
is allowed; an empty list means the file may be parsed.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

MAX_UNCOMPRESSED = 100 * 1024 * 1024  # all members together, declared sizes
MAX_RATIO = 100  # uncompressed : compressed, per member
RATIO_MIN_SIZE = 1024 * 1024  # ratio is checked for members that expand beyond this
MAX_MEMBERS = 1000  # an Excel workbook has ~10-60 parts
DTD_PEEK = 4096  # a DOCTYPE can only sit in the XML prolog
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # local file header; empty archive
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc, or an encrypted .xlsx
ZIP_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".zip")
NESTED_SUFFIXES = (".zip", ".xlsx", ".xlsm", ".xlsb", ".xls", ".docx", ".docm", ".pptx", ".jar",
                   ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".cab")  # not .bin: Excel writes printerSettings*.bin
MACRO_NAMES = re.compile(r"(^|/)(vbaProject\.bin|vbaProjectSignature\.bin|vbaData\.xml)$|(^|/)macrosheets/",
                         re.IGNORECASE)
_PROBE = 64 * 1024  # bytes of a text file scanned for NUL


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def check_upload(path: Path, max_bytes: int) -> list[str]:
    """Refusal messages for ``path`` (empty = may be parsed). Never raises for bad content."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        return [f"{name}: cannot be read ({type(exc).__name__}), expected a readable file"]
    if size == 0:
        return [f"{name}: empty file (0 bytes), expected a workbook or CSV with content"]
    if size > max_bytes:
        return [f"{name}: {size} bytes ({_mb(size)}), more than the {max_bytes} bytes "
                f"({_mb(max_bytes)}) allowed for an upload"]
    with path.open("rb") as f:
        head = f.read(_PROBE)
    if head.startswith(OLE_MAGIC):
        return [f"{name}: an old-format (.xls) or password-protected workbook, expected an "
                "unprotected .xlsx (in Excel/WPS: 另存为 .xlsx, no password)"]
    if head.startswith(ZIP_MAGIC):
        return check_zip(path)
    if path.suffix.lower() in ZIP_SUFFIXES:
        return [f"{name}: not a zip archive (starts with {head[:8]!r}), expected an .xlsx "
                "workbook (an .xlsx file is a zip of XML parts)"]
    return check_text(path, head)


def check_text(path: Path, head: bytes | None = None) -> list[str]:
    """A CSV/TXT upload: refuse binary content (NUL bytes), which no CSV export holds."""
    if head is None:
        with Path(path).open("rb") as f:
            head = f.read(_PROBE)
    at = head.find(b"\x00")
    if at >= 0:
        return [f"{Path(path).name}: binary content (NUL byte at offset {at}), expected a text "
                "CSV (UTF-8 or GBK); UTF-16 exports must be saved as UTF-8"]
    return []


def check_zip(path: Path) -> list[str]:
    """Zip-based upload (.xlsx): caps on members, sizes and ratios, no nesting, no path
    traversal, no macros, no DTD in XML parts."""
    name = Path(path).name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [f"{name}: damaged zip/.xlsx ({exc}), expected a workbook saved by Excel or WPS"]
    with zf:
        infos = zf.infolist()
        refusals: list[str] = []
        if len(infos) > MAX_MEMBERS:
            refusals.append(f"{name}: {len(infos)} zip members, at most {MAX_MEMBERS} allowed")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED:
            refusals.append(f"{name}: expands to {total} bytes ({_mb(total)}) uncompressed, at most "
                            f"{MAX_UNCOMPRESSED} bytes ({_mb(MAX_UNCOMPRESSED)}) allowed (zip bomb?)")
        packed = sum(i.compress_size for i in infos)
        if packed > Path(path).stat().st_size:
            refusals.append(f"{name}: members declare {packed} compressed bytes in a file of "
                            f"{Path(path).stat().st_size} bytes (overlapping members: zip bomb), "
                            "expected members stored one after another")
        for info in infos:
            refusals += _member_refusals(name, info)
        if refusals:
            return refusals
        return _dtd_refusals(name, zf, infos)


def _member_refusals(name: str, info: zipfile.ZipInfo) -> list[str]:
    out = []
    member = info.filename
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_MIN_SIZE and ratio > MAX_RATIO:
        out.append(f"{name}: member {member!r} expands {ratio:.0f}:1 ({info.compress_size} → "
                   f"{info.file_size} bytes), at most {MAX_RATIO}:1 allowed (zip bomb)")
    if info.flag_bits & 0x1:
        out.append(f"{name}: member {member!r} is encrypted, expected an unprotected workbook")
    norm = member.replace("\\", "/")
    if (norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/")
            or posixpath.normpath(norm).startswith("..")):
        out.append(f"{name}: member name {member!r} points outside the archive (path traversal), "
                   "expected relative names such as xl/worksheets/sheet1.xml")
    if MACRO_NAMES.search(norm):
        out.append(f"{name}: holds macros ({member}), expected a macro-free .xlsx "
                   "(in Excel/WPS: 另存为 Excel 工作簿 .xlsx)")
    elif norm.lower().endswith(NESTED_SUFFIXES):
        out.append(f"{name}: holds a nested archive or embedded file {member!r}, expected only "
                   "the workbook's own XML parts")
    return out


def _dtd_refusals(name: str, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[str]:
    out = []
    for info in infos:
        if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        try:
            with zf.open(info) as member:
                head = member.read(DTD_PEEK)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
            out.append(f"{name}: member {info.filename!r} cannot be read ({exc}), expected a "
                       "workbook saved by Excel or WPS")
            continue
        if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
            out.append(f"{name}: member {info.filename!r} declares a DTD (<!DOCTYPE/<!ENTITY>), "
                       "which Excel never writes (XML entity expansion); refused")
    return out
