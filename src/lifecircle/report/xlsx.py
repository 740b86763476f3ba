"""A minimal, fast, deterministic XLSX writer (plain cells: text, numbers, booleans, dates).

openpyxl builds a Python object per cell and serialises it through an XML tree: about
25k cells/s here, far too slow for a 6,000-community city's 150k-row access table. This
writes the SpreadsheetML directly (inline strings, no shared-string table, no formulas:
a value can never become one here, and text a spreadsheet would read as a formula once
copied or saved as CSV is neutralised with a leading ``'``, see
``surveys.excel_safety``), with the zip entries and document properties stamped from
the period, so the same content gives the same bytes. openpyxl and Excel read the result."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from lifecircle.surveys.excel_safety import neutralise

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EPOCH = date(1899, 12, 30)
# style ids (cellXfs): 0 normal, 1 bold, 2 date, 3 title (bold 14), 4 bold + wrap (header)
NORMAL, BOLD, DATE, TITLE, HEADER = 0, 1, 2, 3, 4


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


_COLS = [_col(i) for i in range(1, 200)]


def _esc(text: str) -> str:
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Sheet:
    def __init__(self, title: str):
        self.title = title
        self.rows: list[str] = []
        self.widths: dict[int, float] = {}

    def append(self, values, style: int = NORMAL) -> None:
        r = len(self.rows) + 1
        cells = []
        for i, v in enumerate(values):
            if v is None:
                continue
            ref = f"{_COLS[i]}{r}"
            st = f' s="{style}"' if style else ""
            if isinstance(v, bool):
                cells.append(f'<c r="{ref}" t="b"{st}><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float)):
                cells.append(f'<c r="{ref}"{st}><v>{v!r}</v></c>')
            elif isinstance(v, datetime):
                serial = (v - datetime(1899, 12, 30)).total_seconds() / 86400
                cells.append(f'<c r="{ref}" s="{DATE}"><v>{serial!r}</v></c>')
            elif isinstance(v, date):
                cells.append(f'<c r="{ref}" s="{DATE}"><v>{(v - EPOCH).days}</v></c>')
            else:
                text = _esc(neutralise(str(v)))
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                cells.append(f'<c r="{ref}" t="inlineStr"{st}><is><t{space}>{text}</t></is></c>')
        self.rows.append(f'<row r="{r}">{"".join(cells)}</row>')

    def append_columns(self, columns: list[list]) -> None:
        """Append rows given column-wise: each column is rendered with one type check per
        cell only when it holds mixed types (much faster than ``append`` per row)."""
        if not columns or not columns[0]:
            return
        start = len(self.rows) + 1
        rendered = [self._render_column(_COLS[i], col, start) for i, col in enumerate(columns)]
        self.rows += [f'<row r="{r}">{"".join(cells)}</row>' for r, cells in enumerate(zip(*rendered), start)]

    @staticmethod
    def _render_column(letter: str, values: list, start: int) -> list[str]:
        kinds = {type(v) for v in values} - {type(None)}
        if kinds <= {float, int} and bool not in kinds:
            return ["" if v is None else f'<c r="{letter}{r}"><v>{v!r}</v></c>' for r, v in enumerate(values, start)]
        if kinds == {str}:
            out = []
            for r, v in enumerate(values, start):
                if v is None:
                    out.append("")
                    continue
                t = _esc(neutralise(v))
                space = ' xml:space="preserve"' if t[:1].isspace() or t[-1:].isspace() else ""
                out.append(f'<c r="{letter}{r}" t="inlineStr"><is><t{space}>{t}</t></is></c>')
            return out
        tmp = Sheet("")
        out = []
        for v in values:  # mixed types: the general path, one cell at a time
            tmp.rows.clear()
            tmp.append([v])
            out.append(tmp.rows[0][len('<row r="1">'):-len("</row>")])
        return [c.replace('r="A1"', f'r="{letter}{r}"', 1) for r, c in enumerate(out, start)]

    def xml(self) -> str:
        cols = "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>' for c, w in sorted(self.widths.items()))
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>" + "".join(self.rows)
                + "</sheetData></worksheet>")


_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="14"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment wrapText="1" vertical="center"/></xf></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


def write(path: Path, sheets: list[Sheet], stamp: datetime, creator: str = "lifecircle") -> Path:
    n = len(sheets)
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, n + 1)) + "</Types>"),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{_esc(creator)}</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified></cp:coreProperties>'),
        "docProps/app.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>lifecircle</Application></Properties>"),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="{_esc(s.title)}" sheetId="{i}" r:id="rId{i}"/>' for i, s in enumerate(sheets, 1))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
              'Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES,
    }
    for i, s in enumerate(sheets, 1):
        files[f"xl/worksheets/sheet{i}.xml"] = s.xml()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            entry = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            z.writestr(entry, text.encode("utf-8"), compresslevel=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path
