"""Registration bulk exports (CSV / XLSX with Chinese headers) -> canonical raw fields.

Cities that have no data-sharing API receive the registry as periodic spreadsheet
exports whose headers vary (企业名称 or 名称, 住所 or 经营场所, ...). The header ->
field mapping is data (``config/mappings/registration_columns.csv``, optionally
extended by ``config/cities/<city>/registration_columns.csv``), so a city with other
headers edits a CSV, not code.

Encodings: a CSV is decoded by a strict cascade — UTF-16 when it starts with a UTF-16
BOM, else UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312).
Chosen over statistical detection (charset-normalizer) because the set of encodings
Chinese registry exports come in is small and known, and the cascade is exact for it:
non-UTF-8 Chinese text is practically never valid UTF-8, every GBK file is valid
GB18030, and the result never depends on a confidence score or the file's length. The
header mapping is the check on the decoding: a file decoded wrongly has no recognisable
headers and is rejected, naming the headers found.

XLSX: openpyxl in read-only mode; formulas are never evaluated (and cached results are
not trusted): a formula cell lands as its formula text, so the row fails validation
visibly instead of carrying a value nobody can trace.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd

from lifecircle import settings
from lifecircle.ingest.registration_rules import RAW_FIELDS, REQUIRED
from lifecircle.refdata import config_dir

MAPPING_FILE = "registration_columns.csv"
EXPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
HEADER_SCAN_ROWS = 10  # title lines above the header row that exports often carry
REGISTRY_TZ = "+08:00"  # spreadsheet date-times carry no zone: the registry's local time


class ExportRejected(ValueError):
    """The whole export file is unusable; the message names the file and why."""


@dataclass(frozen=True)
class ColumnMapping:
    """Normalised header -> canonical field, and each alias's priority (lower wins when
    two columns of one file claim the same field)."""

    field_of: dict[str, str]
    priority: dict[str, int]
    sources: tuple[str, ...]


@dataclass
class ExportRead:
    file_name: str
    format: str
    encoding: str | None
    header_row: int  # 1-based row of the header in the file
    mapped: dict[str, str]  # header as written -> field
    unmapped: list[str]  # headers not used (unknown, or a lower-priority duplicate)
    fields: dict[str, list] = field(repr=False)  # field -> values (text or None)
    row_numbers: list[int] = field(repr=False)  # row in the file of each record
    blank_rows: int = 0

    @property
    def rows(self) -> int:
        return len(self.row_numbers)

    def columns_info(self) -> dict:
        return {"mapped": self.mapped, "unmapped": self.unmapped, "header_row": self.header_row,
                "blank_rows": self.blank_rows}


# ------------------------------------------------------------------ folders and hashes
def exports_dir() -> Path:
    """Folder the registration exports are picked up from
    (``LIFECIRCLE_REGISTRATION_EXPORTS_DIR``, else ``<landing>/registrations``)."""
    env = os.environ.get("LIFECIRCLE_REGISTRATION_EXPORTS_DIR")
    path = Path(env) if env else settings.landing_dir() / "registrations"
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_files(folder: Path) -> list[Path]:
    """Export files in ``folder`` (top level, hidden and partial files skipped), by name."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in EXPORT_SUFFIXES)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ header mapping
def normalise_header(text) -> str:
    """NFKC (full-width brackets and spaces), no whitespace, no required-marker ``*`` or
    trailing colon, case-folded: '＊企业 名称：' and '企业名称' are the same header."""
    s = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "").casefold()
    return "".join(ch for ch in s if not ch.isspace()).strip("*:")


def mapping_paths(city: str | None = None) -> list[Path]:
    """The city's mapping file (if any) first, then the shared one. A config folder
    without the shared file (a test city) falls back to the repository's copy."""
    city_file = config_dir() / "cities" / (city or settings.city()) / MAPPING_FILE
    shared = config_dir() / "mappings" / MAPPING_FILE
    if not shared.exists():
        shared = settings.repo_root() / "config" / "mappings" / MAPPING_FILE
    return [p for p in (city_file, shared) if p.exists()]


def load_column_mapping(city: str | None = None, paths: list[Path] | None = None) -> ColumnMapping:
    """Read the mapping file(s): ``canonical_field,header[,note]``, several headers per field.

    City entries come first, so a city can re-point a header the shared file maps
    elsewhere. Unknown fields are an error naming the file and line."""
    field_of: dict[str, str] = {}
    priority: dict[str, int] = {}
    used = paths if paths is not None else mapping_paths(city)
    if not used:
        raise FileNotFoundError(f"no {MAPPING_FILE} under {config_dir()} (mappings/ or cities/<city>/)")
    for path in used:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        missing = {"canonical_field", "header"} - set(df.columns)
        if missing:
            raise ValueError(f"{path}: columns {sorted(missing)} missing (found {list(df.columns)})")
        for line, (fld, header) in enumerate(zip(df["canonical_field"].str.strip(), df["header"]), start=2):
            if fld not in RAW_FIELDS:
                raise ValueError(f"{path} line {line}: canonical_field {fld!r} is not one of {', '.join(RAW_FIELDS)}")
            key = normalise_header(header)
            if key and key not in field_of:
                field_of[key] = fld
                priority[key] = len(priority)
    return ColumnMapping(field_of, priority, tuple(str(p) for p in used))


def _match_header(cells: list, mapping: ColumnMapping) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """Column index -> field for one candidate header row (best alias per field)."""
    best: dict[str, tuple[int, int]] = {}  # field -> (priority, column index)
    for i, cell in enumerate(cells):
        key = normalise_header(cell)
        fld = mapping.field_of.get(key)
        if fld and (fld not in best or mapping.priority[key] < best[fld][0]):
            best[fld] = (mapping.priority[key], i)
    index = {i: fld for fld, (_, i) in best.items()}
    mapped = {str(cells[i]).strip(): fld for i, fld in sorted(index.items())}
    unmapped = [str(c).strip() for i, c in enumerate(cells) if i not in index and normalise_header(c)]
    return index, mapped, unmapped


def _find_header(rows: list[list], mapping: ColumnMapping, file_name: str):
    """The first of the top rows that names every required field; else reject, naming
    what is missing and the headers of the row that came closest."""
    closest = None
    for r, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        index, mapped, unmapped = _match_header(cells, mapping)
        if all(f in index.values() for f in REQUIRED):
            return r, index, mapped, unmapped
        if cells and any(normalise_header(c) for c in cells) and (closest is None or len(index) > len(closest[1])):
            closest = (cells, index)
    if closest is None:
        raise ExportRejected(f"{file_name}: no header row found (the file is empty)")
    cells, index = closest
    missing = [f for f in REQUIRED if f not in index.values()]
    found = [str(c).strip() for c in cells if normalise_header(c)]
    raise ExportRejected(
        f"{file_name}: required field(s) {', '.join(missing)} have no column; headers found: "
        f"{', '.join(found)}. Add the header to config/mappings/{MAPPING_FILE} "
        f"(or config/cities/<city>/{MAPPING_FILE}) if it means one of these fields.")


# ------------------------------------------------------------------ readers
def decode_csv(data: bytes, file_name: str = "") -> tuple[str, str]:
    """(text, encoding) by the strict cascade UTF-16 BOM -> UTF-8(-sig) -> GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ExportRejected(f"{file_name}: not valid UTF-8, UTF-16 or GB18030/GBK text; save the export as "
                         f"UTF-8 CSV or XLSX")


def _csv_rows(text: str) -> list[list]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return [[c if c != "" else None for c in row] for row in csv.reader(io.StringIO(text, newline=""),
                                                                         delimiter=delimiter)]


def _cell_text(value):
    """An XLSX cell as text: dates ISO (date-times with the registry's zone), integral
    numbers without '.0' (industry codes), formulas as written."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat() if value.tzinfo else value.isoformat() + REGISTRY_TZ
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # zip/xml errors of a corrupt or mislabelled file
        raise ExportRejected(f"{path.name}: cannot be opened as an XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        ws = wb.worksheets[0]
        return [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def read_export(path: Path, mapping: ColumnMapping) -> ExportRead:
    """Read one export into canonical fields; raise :class:`ExportRejected` for a file
    that cannot be used at all (undecodable, unopenable, a required column missing)."""
    suffix = path.suffix.lower()
    encoding = None
    if suffix == ".csv":
        text, encoding = decode_csv(path.read_bytes(), path.name)
        rows, fmt = _csv_rows(text), "csv"
    elif suffix in (".xlsx", ".xlsm"):
        rows, fmt = _xlsx_rows(path), "xlsx"
    elif suffix == ".xls":
        raise ExportRejected(f"{path.name}: legacy Excel 97-2003 (.xls) is not read; save it as .xlsx or CSV")
    else:
        raise ExportRejected(f"{path.name}: unsupported file type {suffix!r} (expected .csv or .xlsx)")
    h, index, mapped, unmapped = _find_header(rows, mapping, path.name)
    fields: dict[str, list] = {f: [] for f in index.values()}
    row_numbers: list[int] = []
    blank = 0
    for r in range(h + 1, len(rows)):
        cells = rows[r]
        if not any(c is not None and str(c).strip() for c in cells):
            blank += 1
            continue
        row_numbers.append(r + 1)
        for i, fld in index.items():
            fields[fld].append(cells[i] if i < len(cells) else None)
    return ExportRead(path.name, fmt, encoding, h + 1, mapped, unmapped, fields, row_numbers, blank)
