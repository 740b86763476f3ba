"""Tianshui annex 5 (试点便民生活圈建设情况调查表): write the workbook, parse it back.

Why: every pilot circle reports its stock of outlets, employees, chain stores, satisfaction
and the residents' demand list (缺什么) on this form; it is the basis of 一圈一策. The
workbooks come back edited by hand in Excel or WPS, so the parser finds every field by
its label (never a fixed address), tolerates what clerks really type (full-width digits,
√ marks, "90%", 2024/5/31, spaces inside names) and rejects what cannot be trusted with a
message naming sheet, cell, what was found and what was expected. Formulas are never
evaluated: a cell holding one is an error, because its cached value may be stale.
"""
from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils.datetime import from_excel
from openpyxl.writer.excel import ExcelWriter

from lifecircle.surveys.excel_safety import neutralise, restore


# ====================================================================== text helpers
#: marks people use for a ticked box (打√) and for an empty one
CHECK_MARKS = "☑✓√✔■▣☒✅●◉"
UNCHECK_MARKS = "□☐○◯"


def norm_with_index(value: Any) -> tuple[str, list[int]]:
    """NFKC per character, whitespace dropped, with the original index of every kept char.

    NFKC turns full-width digits, ．, ％, （）, ： and the ideographic space into ASCII,
    so labels and numbers compare the way a person reads them; the index lets callers cut
    the original (un-normalised) text, e.g. a circle name with full-width parentheses.
    """
    out, index = [], []
    for i, ch in enumerate(str(value)):
        for n in unicodedata.normalize("NFKC", ch):
            if not n.isspace():
                out.append(n)
                index.append(i)
    return "".join(out), index


def spaced(value: Any) -> str:
    """NFKC with whitespace runs kept as one space (tick marks need word boundaries)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value))).strip()


def norm(value: Any) -> str:
    """Comparable text: NFKC, no whitespace ("生鲜超市（菜店） " → "生鲜超市(菜店)")."""
    return norm_with_index(value)[0]


def clean_name(value: str) -> str:
    """Trim a name; drop spaces between CJK characters, collapse the others."""
    s = re.sub(r"\s+", " ", value.strip())
    return re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", s)


_EXTRA_ALIASES = {"小修小补点": "repair", "小修小补": "repair", "快递驿站": "post_parcel",
                  "家政服务店": "housekeeping", "理发店": "hair_beauty", "菜店": "fresh_food_store"}


def category_lookup() -> dict[str, str]:
    """Normalised category name variant → category_code (both 其他 rows excluded).

    Variants: the name, the name without its parenthesis (生鲜超市), the parenthesis
    alone (菜店), and each without a trailing 店/点 (美容美发); ambiguous ones are dropped.
    """
    from lifecircle.refdata import load_categories

    found: dict[str, set[str]] = {}
    df = load_categories()
    for code, name in zip(df["category_code"], df["name_zh"]):
        full = norm(name)
        if full == "其他":
            continue
        variants = {full, re.sub(r"\(.*?\)", "", full), *re.findall(r"\((.*?)\)", full)}
        variants |= {v[:-1] for v in variants if len(v) > 2 and v[-1] in "店点"}
        for v in variants:
            found.setdefault(v, set()).add(code)
    lookup = {k: next(iter(v)) for k, v in found.items() if len(v) == 1 and k}
    for k, v in _EXTRA_ALIASES.items():
        lookup.setdefault(norm(k), v)
    return lookup


def category_key(name: Any) -> str:
    """A category name as a lookup key: normalised, leading numbering (1. / (1)) dropped."""
    return re.sub(r"^(?:\(?\d+\)|\d+[.、])", "", norm(name))


def category_code_for(name: Any, lookup: dict[str, str] | None = None) -> str | None:
    """The code for a category name as people write it; None if unknown or 其他."""
    return (lookup if lookup is not None else category_lookup()).get(category_key(name))

TITLE = "试点便民生活圈建设情况调查表"
SHEET_NAME = "Sheet1"
NOT_FILLED = ("form not filled in (no figures in the header block or the category table: "
              "a blank template?), expected the circle's outlets, employees, chain outlets and satisfaction")
MIN_SAMPLE_NOTE = 50  # annex 5 说明 2: at least 50 sampled responses per circle

#: (code, label on the form) — multi-select operator types, in form order
OPERATOR_TYPES: list[tuple[str, str]] = [
    ("street_community", "街道(社区)"),
    ("state_owned", "国企"),
    ("private", "民营企业"),
    ("professional_operator", "专业运营商"),
    ("self_run", "网点各自经营"),
]
#: (code, label on the form) — single choice 发展形态
DEVELOPMENT_FORMS: list[tuple[str, str]] = [
    ("clustered", "集聚式为主"),
    ("street_block", "街坊式为主"),
    ("dispersed", "分布式为主"),
]
GROUP_LABELS = {"basic": "基本保障类", "quality": "品质提升类"}
NOTES = (
    "1.此表为调查明细表,由生活圈(社区)填写现有存量数据,为方便汇总请勿改表格结构。"
    "计量单位均保留小数点后两位。生活圈可含一个或多个社区。\n"
    "2.居民满意度指标:每个生活圈抽样调查不少于50份。\n"
    "3.此表为开展“一圈一策”“缺什么、补什么”的依据,请认真搞好摸底调查。"
)
ROW_FIELDS = ("outlets", "employees_10k", "chain_outlets", "satisfaction_pct", "demand_list")
HEADERS = {
    "group": "分类",
    "name": "主要业态网点",
    "outlets": "商业网点(店铺)数量合计(个)",
    "employees_10k": "从业人数(万人)",
    "chain_outlets": "其中:品牌连锁店数量(个)",
    "satisfaction_pct": "居民满意度(%)",
    "demand_list": "问需于民调查时居民反映还“缺什么”(需求清单)",
}

# Layout of the written workbook (the parser does not rely on it).
_COLS = {"group": 1, "name": 2, "outlets": 3, "employees_10k": 4, "chain_outlets": 5,
         "satisfaction_pct": 6, "demand_list": 7}
_LAST_COL = 9
_ROW_HEADLINE, _ROW_OPERATOR, _ROW_CENTRES, _ROW_AREA, _ROW_HEADER, _ROW_TOTAL = 2, 3, 4, 5, 6, 7


@dataclass
class Annex5Result:
    """What ``parse_annex5`` found: ``form`` is None whenever ``errors`` is non-empty."""

    form: dict | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sheet: str | None = None

    @property
    def ok(self) -> bool:
        return self.form is not None and not self.errors


# ====================================================================== writing
def annex5_categories() -> list[dict]:
    """Annex-5 rows in form order (basic then quality): code, name_zh, group."""
    from lifecircle.refdata import load_categories

    df = load_categories()
    df = df[df["in_annex5"]].copy()
    df["_g"] = df["category_group"].map({"basic": 0, "quality": 1})
    df = df.sort_values(["_g", "annex5_order"])
    return [{"code": r.category_code, "name_zh": r.name_zh, "group": r.category_group}
            for r in df.itertuples()]


def annex5_row_numbers() -> dict[str, int]:
    """Worksheet row of every category in a workbook written by ``write_annex5``."""
    return {c["code"]: _ROW_TOTAL + 1 + i for i, c in enumerate(annex5_categories())}


def date_cn(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "    年    月    日"


def _boxes(options: list[tuple[str, str]], ticked) -> str:
    return "  ".join(f"{label}{'☑' if code in ticked else '□'}" for code, label in options)


def build_annex5_workbook(form: dict) -> Workbook:
    """The annex-5 form as an openpyxl Workbook (values empty when ``form['blank']``)."""
    blank = bool(form.get("blank"))
    g = (lambda key, default=None: default) if blank else (lambda key, default=None: form.get(key, default))
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    left = Alignment(wrap_text=True, vertical="center", horizontal="left")

    def put(row, col, value, *, merge_to=None, fmt=None, align=wrap):
        cell = ws.cell(row=row, column=col, value=neutralise(value))  # text never becomes a formula
        cell.alignment = align
        if fmt:
            cell.number_format = fmt
        if merge_to:
            ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=merge_to)
        return cell

    put(1, 1, TITLE, merge_to=_LAST_COL).font = Font(bold=True, size=16)
    put(_ROW_HEADLINE, 1,
        f"试点生活圈:{form.get('circle_name') or ''}        所在城市:{form.get('city') or ''}"
        f"        截至日期:{date_cn(form.get('as_of'))}", merge_to=_LAST_COL, align=left)

    platform = g("smart_platform")
    yes_no = f"是{'☑' if platform is True else '□'}  否{'☑' if platform is False else '□'}"
    put(_ROW_OPERATOR, 1, "运营主体(多选,打√)")
    put(_ROW_OPERATOR, 2, _boxes(OPERATOR_TYPES, set(g("operator_types", []) or []))
        + f"\n另:是否有便民生活圈智慧服务平台  {yes_no}", merge_to=5, align=left)
    put(_ROW_OPERATOR, 6, "发展形态")
    put(_ROW_OPERATOR, 7, _boxes(DEVELOPMENT_FORMS, {g("development_form")}), merge_to=_LAST_COL)

    put(_ROW_CENTRES, 1, "社区商业中心(邻里中心)数量(座)", merge_to=3)
    put(_ROW_CENTRES, 4, g("commercial_centres"), fmt="0")
    put(_ROW_CENTRES, 5, "生活圈服务覆盖的居民数量(万人)", merge_to=7)
    put(_ROW_CENTRES, 8, g("residents_covered_10k"), merge_to=_LAST_COL, fmt="0.00")
    put(_ROW_AREA, 1, "社区商业和综合服务设施面积占社区总建筑面积的比例(%)", merge_to=3)
    put(_ROW_AREA, 4, g("facility_area_share_pct"), fmt="0.00")
    put(_ROW_AREA, 5, None, merge_to=_LAST_COL)

    for key, col in _COLS.items():
        put(_ROW_HEADER, col, HEADERS[key], merge_to=_LAST_COL if key == "demand_list" else None)
        ws.cell(_ROW_HEADER, col).font = Font(bold=True)

    by_code = {r["category_code"]: r for r in (form.get("rows") or [])}
    cats = annex5_categories()
    rows = [{} if blank else by_code.get(c["code"], {}) for c in cats]
    put(_ROW_TOTAL, 1, "合  计", merge_to=2)
    for key, fmt in (("outlets", "0"), ("employees_10k", "0.00"), ("chain_outlets", "0")):
        vals = [r.get(key) for r in rows if r.get(key) is not None]
        total = (round(sum(vals), 2) if key == "employees_10k" else sum(vals)) if vals else None
        put(_ROW_TOTAL, _COLS[key], total, fmt=fmt)
    put(_ROW_TOTAL, _COLS["satisfaction_pct"], None)
    put(_ROW_TOTAL, _COLS["demand_list"], None, merge_to=_LAST_COL)

    row = _ROW_TOTAL + 1
    for group in ("basic", "quality"):
        members = [(c, r) for c, r in zip(cats, rows) if c["group"] == group]
        put(row, 1, GROUP_LABELS[group])
        ws.merge_cells(start_row=row, start_column=1, end_row=row + len(members) - 1, end_column=1)
        for cat, values in members:
            put(row, 2, cat["name_zh"])
            put(row, 3, values.get("outlets"), fmt="0")
            put(row, 4, values.get("employees_10k"), fmt="0.00")
            put(row, 5, values.get("chain_outlets"), fmt="0")
            put(row, 6, values.get("satisfaction_pct"), fmt="0.00")
            put(row, 7, values.get("demand_list"), merge_to=_LAST_COL, align=left)
            row += 1
    put(row, 1, "说明")
    put(row, 2, NOTES, merge_to=_LAST_COL, align=left)
    ws.row_dimensions[row].height = 75
    last_bordered = row
    communities = form.get("communities") or []
    if communities:
        row += 1
        put(row, 1, "生活圈包含社区:" + "、".join(communities), merge_to=_LAST_COL, align=left)

    for r in range(_ROW_OPERATOR, last_bordered + 1):
        for c in range(1, _LAST_COL + 1):
            ws.cell(r, c).border = border
    ws.row_dimensions[_ROW_OPERATOR].height = 48
    ws.row_dimensions[_ROW_HEADER].height = 45
    for col, width in zip("ABCDEFGHI", (12, 30, 14, 12, 14, 12, 14, 14, 14)):
        ws.column_dimensions[col].width = width
    return wb


def save_deterministic(wb: Workbook, path: str | Path, stamp: datetime) -> Path:
    """Save ``wb`` so the same content gives the same bytes.

    openpyxl's ``save`` stamps docProps/core.xml with the clock and every zip entry with
    the current time; here both come from ``stamp`` (e.g. the survey's as-of date).
    """
    path = Path(path)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "lifecircle"
    wb.properties.lastModifiedBy = None
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def write_annex5(path: str | Path, form: dict) -> Path:
    """Write ``form`` (the shape ``parse_annex5`` returns, plus optional ``blank`` and
    ``communities``) as an annex-5 workbook; byte-identical for the same input."""
    as_of = form.get("as_of")
    stamp = datetime.combine(as_of, time(0, 0)) if as_of else datetime(2024, 1, 1)
    return save_deterministic(build_annex5_workbook(form), path, stamp)


# ====================================================================== parsing
_LABELS = {
    "circle_name": r"试点(?:便民)?生活圈(?:名称)?(?!建设):?",
    "city": r"所在城市:?",
    "as_of": r"截[至止]日期:?",
    "operator": r"运营主体(?:\([^)]*\))?:?",
    "platform": r"(?:另:?)?是否有?(?:便民生活圈)?智慧服务平台:?",
    "development_form": r"发展形态:?",
    "commercial_centres": r"社区商业中心(?:\(邻里中心\))?(?:数量)?(?:\(座\))?:?",
    "residents_covered_10k": r"(?:生活圈)?服务覆盖的?居民(?:数量|人数)?(?:\(万人\))?:?",
    "facility_area_share_pct": r"社区商业和综合服务设施面积占社区总建筑面积的?比例(?:\(%\))?:?",
}
_ANY_LABEL = re.compile("|".join(f"(?:{p})" for p in _LABELS.values()))
_LABEL_NAMES = {
    "circle_name": "试点生活圈 (circle name)", "city": "所在城市 (city)",
    "as_of": "截至日期 (as-of date)", "commercial_centres": "社区商业中心(邻里中心)数量",
    "residents_covered_10k": "生活圈服务覆盖的居民数量(万人)",
    "facility_area_share_pct": "社区商业和综合服务设施面积占比(%)",
}
_BLANK_TOKENS = {"", "-", "—", "–", "/", "\\", "——"}
_DATE_HINT = "a date such as 2024年5月31日, 2024-05-31 or 2024/5/31"


class _Bad(ValueError):
    """A cell value that cannot be read as the expected type."""


class _Sheet:
    """A worksheet seen as text: merged cells resolve to their top-left value.

    Only the first ``MAX_ROWS`` × ``MAX_COLS`` cells are read: the form is ~35 × 9, and
    sheets formatted down to row 1,048,576 must not stall the parser.
    """

    MAX_ROWS, MAX_COLS = 500, 40

    def __init__(self, ws):
        self.ws = ws
        self.title = ws.title
        self.max_row = min(ws.max_row, self.MAX_ROWS)
        self.max_col = min(ws.max_column, self.MAX_COLS)
        self.truncated = ws.max_row > self.MAX_ROWS or ws.max_column > self.MAX_COLS
        self.anchor: dict[tuple[int, int], tuple[int, int]] = {}
        for rng in ws.merged_cells.ranges:
            for r in range(rng.min_row, min(rng.max_row, self.max_row) + 1):
                for c in range(rng.min_col, min(rng.max_col, self.max_col) + 1):
                    self.anchor[(r, c)] = (rng.min_row, rng.min_col)
        self.texts: dict[tuple[int, int], str] = {}  # normalised text of string cells
        for row in ws.iter_rows(max_row=self.max_row, max_col=self.max_col):
            for cell in row:
                if isinstance(cell.value, str) and not isinstance(cell, MergedCell):
                    self.texts[(cell.row, cell.column)] = norm(cell.value)
        self.formulas: set[str] = set()  # refs already reported as formulas

    def raw(self, r: int, c: int, resolve: bool = False) -> Any:
        if resolve:
            r, c = self.anchor.get((r, c), (r, c))
        cell = self.ws.cell(r, c)
        return None if isinstance(cell, MergedCell) else cell.value

    def text(self, r: int, c: int, resolve: bool = False) -> str:
        if resolve:
            r, c = self.anchor.get((r, c), (r, c))
        if (r, c) in self.texts:
            return self.texts[(r, c)]
        v = self.raw(r, c)
        return "" if v is None else norm(v)

    def ref(self, r: int, c: int) -> str:
        return f"{self.title}!{self.ws.cell(r, c).coordinate}"

    def find(self, pattern: str) -> tuple[int, int, re.Match] | None:
        rx = re.compile(pattern)
        for (r, c), text in sorted(self.texts.items()):
            if m := rx.search(text):
                return r, c, m
        return None

    def row_text_after(self, r: int, c: int, end: int) -> str:
        """The label cell's text after the label (``end`` indexes its normalised text) and
        the cells to its right, NFKC with single spaces (see ``spaced``)."""
        original = str(self.raw(r, c))
        _, index = norm_with_index(original)
        parts = [original[index[end]:] if end < len(index) else ""]
        parts += ["" if self.raw(r, c2) is None else str(self.raw(r, c2))
                  for c2 in range(c + 1, self.max_col + 1)]
        return spaced(" ".join(parts))


def _value_after_label(sh: _Sheet, key: str):
    """(raw value, cell ref, label ref) for a labelled field, or None if the label is absent.

    The value is the rest of the label's own cell (up to the next label) or, when that is
    empty, the next non-empty cell to the right that is not itself a label.
    """
    hit = sh.find(_LABELS[key])
    if hit is None:
        return None
    r, c, m = hit
    original = str(sh.raw(r, c))
    text, index = norm_with_index(original)
    rest = text[m.end():]
    nxt = _ANY_LABEL.search(rest)
    stop = m.end() + (nxt.start() if nxt else len(rest))
    if stop > m.end():
        start_o = index[m.end()]
        stop_o = index[stop] if stop < len(index) else len(original)
        value = original[start_o:stop_o].strip().lstrip(":：").strip()
        return value, sh.ref(r, c), sh.ref(r, c)
    for c2 in range(c + 1, sh.max_col + 1):
        v = sh.raw(r, c2)
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if isinstance(v, str) and _ANY_LABEL.match(norm(v)):
            break
        return v, sh.ref(r, c2), sh.ref(r, c)
    return None, sh.ref(r, c), sh.ref(r, c)


# ---------------------------------------------------------------- value readers
def _number(raw: Any) -> tuple[float | None, bool]:
    """A cell as (number or None, written with %). Raises _Bad for anything else."""
    if raw is None:
        return None, False
    if isinstance(raw, bool) or isinstance(raw, (datetime, date, time)):
        raise _Bad
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _Bad
        return float(raw), False
    s = norm(raw)
    if s in _BLANK_TOKENS:
        return None, False
    pct = s.endswith("%")
    s = s.rstrip("%").replace(",", "")
    s = re.sub(r"(个|座|家|万人)$", "", s)
    if not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", s):
        raise _Bad
    return float(s), pct


def _whole(raw: Any) -> int | None:
    v, pct = _number(raw)
    if v is None:
        return None
    if pct or v < 0 or v != int(v):
        raise _Bad
    return int(v)


def _nonneg(raw: Any) -> float | None:
    v, pct = _number(raw)
    if v is None:
        return None
    if pct or v < 0:
        raise _Bad
    return v


def _percent(raw: Any, number_format: str = "General") -> float | None:
    """Percent 0–100: "90%" → 90; a %-formatted cell or a value ≤ 1 is a fraction."""
    v, pct = _number(raw)
    if v is None:
        return None
    if not pct and ("%" in (number_format or "") or 0 <= v <= 1):
        v = v * 100
    if v < 0 or v > 100:
        raise _Bad
    return round(v, 6)


def _as_date(raw: Any) -> date | None:
    """Excel date cells, 2024年5月31日, 2024-05-31, 2024/5/31, 2024.5.31, 20240531."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if 20000 < raw < 80000:  # an Excel serial date typed into a General cell
            return from_excel(raw).date()
        raise _Bad
    s = norm(raw)
    if not s:
        return None
    m = (re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", s)
         or re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:0{1,2}:00(?::00)?)?", s)
         or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s))
    if not m:
        raise _Bad
    try:
        return date(*(int(x) for x in m.groups()))
    except ValueError as exc:
        raise _Bad from exc


def _ticks(text: str, options: list[tuple[str, str]]) -> dict[str, bool]:
    """Which options carry a tick, in ``spaced`` text.

    Marks usually follow the label (国企☑, 国企打√, 国企 √) but some people put them in
    front (√国企). The side where marks touch the labels more often wins; when no mark
    touches a label, a mark after the label (the template's convention) wins.
    """
    boxes = CHECK_MARKS + UNCHECK_MARKS
    tails, heads = {}, {}
    for code, pattern in options:
        m = re.search(pattern, text)
        if not m:
            tails[code] = heads[code] = ("", "")
            continue
        tail = text[m.end():].lstrip("([【")
        tail = tail[1:] if tail.startswith("打") else tail
        head = text[:m.start()].rstrip(")]】")
        tails[code] = (tail[:1], tail.lstrip()[:1])
        heads[code] = (head[-1:], head.rstrip()[-1:])
    after_touch = sum(1 for adj, _ in tails.values() if adj and adj in boxes)
    before_touch = sum(1 for adj, _ in heads.values() if adj and adj in boxes)
    if before_touch > after_touch or (
            not after_touch and not any(loose and loose in boxes for _, loose in tails.values())):
        return {code: bool(heads[code][1]) and heads[code][1] in CHECK_MARKS for code, _ in options}
    return {code: bool(tails[code][1]) and tails[code][1] in CHECK_MARKS for code, _ in options}


_OPERATOR_PATTERNS = [("street_community", r"街道\s*(?:\(\s*社区\s*\))?"),
                      ("state_owned", r"国企|国有企业"), ("private", r"民营企业"), ("professional_operator", r"专业运营商"),
                      ("self_run", r"网点各自经营")]
_FORM_PATTERNS = [("clustered", r"集聚式(?:为主)?"), ("street_block", r"街[坊区]式(?:为主)?"),
                  ("dispersed", r"分布式(?:为主)?")]


# ---------------------------------------------------------------- the parser
def parse_annex5(path: str | Path) -> Annex5Result:
    """Read an annex-5 workbook; ``form`` is None when anything could not be trusted."""
    path = Path(path)
    errors: list[str] = []
    warnings: list[str] = []
    try:
        with path.open("rb") as f:  # a file object: openpyxl then judges content, not the extension
            wb = load_workbook(f, data_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one error message
        return Annex5Result(None, [f"{path.name}: cannot be opened as an .xlsx workbook "
                                   f"({type(exc).__name__}: {exc}), expected the annex-5 form saved as .xlsx"])
    sheets = [ws for ws in wb.worksheets if _Sheet(ws).find(r"主要业态(?:网点)?")]
    if not sheets:
        return Annex5Result(None, [f"{path.name}: no sheet holds the annex-5 table, expected a "
                                   "header row with 分类 | 主要业态网点 | 商业网点(店铺)数量合计(个) …"])
    if len(sheets) > 1:
        warnings.append(f"{path.name}: {len(sheets)} sheets look like annex-5 forms; "
                        f"read only '{sheets[0].title}'")
    sh = _Sheet(sheets[0])

    if sh.truncated:
        warnings.append(f"{sh.title}: only the first {sh.MAX_ROWS} rows and {sh.MAX_COLS} columns were read")
    for row in sh.ws.iter_rows(max_row=sh.max_row, max_col=sh.max_col):
        for cell in row:
            if cell.data_type == "f":
                text = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "")
                sh.formulas.add(sh.ref(cell.row, cell.column))
                errors.append(f"{sh.ref(cell.row, cell.column)}: holds a formula {str(text)!r}, "
                              "expected a typed-in value (formulas are never evaluated)")
    if not sh.find(re.escape(norm(TITLE))):
        warnings.append(f"{sh.title}: title {TITLE} not found")

    form: dict[str, Any] = {}
    _parse_headline(sh, form, errors, warnings)
    _parse_choices(sh, form, errors, warnings)
    _parse_circle_numbers(sh, form, errors, warnings)
    form["rows"] = _parse_table(sh, errors, warnings)
    values = [row[k] for row in form["rows"] for k in ROW_FIELDS] + [
        form[k] for k in ("commercial_centres", "residents_covered_10k", "facility_area_share_pct")]
    if all(v is None for v in values) and not sh.formulas:
        # A blank template sent back as is: one clear reason instead of "as-of date empty" & co.
        return Annex5Result(None, [f"{sh.title}: {NOT_FILLED}"], warnings, sh.title)
    if errors:
        return Annex5Result(None, errors, warnings, sh.title)
    return Annex5Result(form, errors, warnings, sh.title)


def _parse_headline(sh: _Sheet, form: dict, errors: list, warnings: list) -> None:
    for key in ("circle_name", "city"):
        found = _value_after_label(sh, key)
        value = clean_name(str(found[0])) if found and found[0] is not None else ""
        form[key] = value or None
        if value:
            continue
        where = found[1] if found else sh.title
        msg = (f"{where}: {_LABEL_NAMES[key]} is empty, expected the {key.replace('_', ' ')}"
               if found else f"{where}: no {_LABEL_NAMES[key]} label found, expected a line "
               "试点生活圈: … 所在城市: … 截至日期: …")
        (errors if key == "circle_name" else warnings).append(msg)

    found = _value_after_label(sh, "as_of")
    form["as_of"] = None
    if found is None:
        errors.append(f"{sh.title}: no {_LABEL_NAMES['as_of']} label found, expected a line "
                      "试点生活圈: … 所在城市: … 截至日期: …")
        return
    raw, ref, _ = found
    if ref in sh.formulas:
        return
    try:
        form["as_of"] = _as_date(raw)
    except _Bad:
        errors.append(f"{ref}: {_LABEL_NAMES['as_of']} is {_show(raw)}, expected {_DATE_HINT}")
        return
    if form["as_of"] is None:
        errors.append(f"{ref}: {_LABEL_NAMES['as_of']} is empty, expected {_DATE_HINT}")


def _parse_choices(sh: _Sheet, form: dict, errors: list, warnings: list) -> None:
    hit = sh.find(_LABELS["operator"])
    form["operator_types"] = []
    if hit:
        r, c, m = hit
        text = sh.row_text_after(r, c, m.end())
        text = re.split(r"另\s*:?\s*是否|是否有|智慧服务平台|发展\s*形态", text)[0]
        ticked = _ticks(text, _OPERATOR_PATTERNS)
        form["operator_types"] = [code for code, _ in OPERATOR_TYPES if ticked[code]]
    else:
        warnings.append(f"{sh.title}: no 运营主体 (operator type) label found")

    form["smart_platform"] = None
    hit = sh.find(_LABELS["platform"])
    if hit:
        r, c, m = hit
        text = re.split(r"发展\s*形态", sh.row_text_after(r, c, m.end()))[0]
        t = _ticks(text, [("yes", r"是"), ("no", r"否")])
        if t["yes"] and t["no"]:
            errors.append(f"{sh.ref(r, c)}: 是否有便民生活圈智慧服务平台 has both 是 and 否 ticked, "
                          "expected one")
        elif t["yes"] or t["no"]:
            form["smart_platform"] = bool(t["yes"])
        elif text.strip(" :") in ("是", "有"):
            form["smart_platform"] = True
        elif text.strip(" :") in ("否", "无", "没有"):
            form["smart_platform"] = False

    form["development_form"] = None
    hit = sh.find(_LABELS["development_form"])
    if hit:
        r, c, m = hit
        ticked = [k for k, v in _ticks(sh.row_text_after(r, c, m.end()), _FORM_PATTERNS).items() if v]
        if len(ticked) > 1:
            errors.append(f"{sh.ref(r, c)}: 发展形态 has {len(ticked)} options ticked, expected one of "
                          "集聚式为主/街坊式为主/分布式为主")
        elif ticked:
            form["development_form"] = ticked[0]


def _parse_circle_numbers(sh: _Sheet, form: dict, errors: list, warnings: list) -> None:
    readers = {"commercial_centres": (_whole, "a whole number ≥ 0"),
               "residents_covered_10k": (_nonneg, "a number ≥ 0 (10k persons)"),
               "facility_area_share_pct": (_percent, "a percentage 0–100")}
    for key, (reader, expected) in readers.items():
        form[key] = None
        found = _value_after_label(sh, key)
        if found is None:
            warnings.append(f"{sh.title}: no {_LABEL_NAMES[key]} label found")
            continue
        raw, ref, _ = found
        if ref in sh.formulas:
            continue
        try:
            form[key] = reader(raw)
        except _Bad:
            errors.append(f"{ref}: {_LABEL_NAMES[key]} is {_show(raw)}, expected {expected}")
    if form["residents_covered_10k"] and form["residents_covered_10k"] > 500:
        warnings.append(f"{sh.title}: residents covered is {form['residents_covered_10k']} (万人 = 10k "
                        "persons); looks like a head count")


def _header_columns(sh: _Sheet, r: int) -> dict[str, int]:
    cols: dict[str, int] = {}
    tests = [("chain_outlets", lambda t: "品牌连锁" in t or "连锁店" in t),
             ("employees_10k", lambda t: "从业" in t),
             ("satisfaction_pct", lambda t: "满意度" in t),
             ("demand_list", lambda t: "缺什么" in t or "需求清单" in t),
             ("name", lambda t: "主要业态" in t),
             ("outlets", lambda t: "数量" in t and ("网点" in t or "店铺" in t)),
             ("group", lambda t: t in ("分类", "类别", "分类类别"))]
    for c in range(1, sh.max_col + 1):
        if sh.anchor.get((r, c), (r, c)) != (r, c):
            continue
        t = sh.text(r, c)
        for key, test in tests:
            if key not in cols and t and test(t):
                cols[key] = c
                break
    return cols


def _parse_table(sh: _Sheet, errors: list, warnings: list) -> list[dict]:
    hit = sh.find(r"主要业态(?:网点)?")
    r_head = hit[0]
    cols = _header_columns(sh, r_head)
    missing = [HEADERS[k] for k in ("name", "outlets", "employees_10k", "chain_outlets",
                                    "satisfaction_pct") if k not in cols]
    if missing:
        errors.append(f"{sh.title}!{r_head}:{r_head}: table header lacks {', '.join(missing)}, "
                      "expected the annex-5 columns")
        return []
    if "group" not in cols and cols["name"] > 1:
        cols["group"] = cols["name"] - 1
    from lifecircle.refdata import load_categories

    lookup = category_lookup()
    names = {c["code"]: c["name_zh"] for c in annex5_categories()}
    df = load_categories()
    cat_group = dict(zip(df["category_code"], df["category_group"]))
    group, rows, seen, totals = None, [], {}, None
    for r in range(r_head + 1, sh.max_row + 1):
        gtext = sh.text(r, cols["group"], resolve=True) if "group" in cols else ""
        name_anchor = sh.anchor.get((r, cols["name"]), (r, cols["name"]))
        ntext = sh.text(r, cols["name"], resolve=True)
        if gtext.startswith("说明") or ntext.startswith("说明"):
            break
        raws = {k: sh.raw(r, cols[k]) for k in ROW_FIELDS if k in cols}
        empty = all(v is None or (isinstance(v, str) and not v.strip()) for v in raws.values())
        if "合计" in gtext or "合计" in ntext or "总计" in ntext:
            totals = (r, raws)
            continue
        for code, label in GROUP_LABELS.items():
            if label[:4] in gtext:
                group = code
        if ntext in (GROUP_LABELS["basic"], GROUP_LABELS["quality"]) or (
                "group" in cols and name_anchor == sh.anchor.get((r, cols["group"]))):
            continue  # a sub-heading or a note spanning the row
        if ntext.startswith(("注", "备注", "生活圈包含社区", "包含社区")):
            continue
        if not ntext:
            if not empty:
                errors.append(f"{sh.ref(r, cols['name'])}: row has values but no category name, "
                              "expected an annex-5 category in 主要业态网点")
            continue
        code = category_code_for(ntext, lookup)
        if category_key(ntext) == "其他" or (code is None and category_key(ntext).startswith("其他")):
            if group is None:
                errors.append(f"{sh.ref(r, cols['name'])}: 其他 row sits outside 基本保障类/品质提升类, "
                              "expected it under one of the two groups")
                continue
            code = f"{group}_other"
        if code is None:
            errors.append(f"{sh.ref(r, cols['name'])}: unknown category row "
                          f"{_show(sh.raw(r, cols['name'], True))}, expected an annex-5 category "
                          "name (便利店, 综合超市, … 休闲娱乐, 其他)")
            continue
        if code in seen:
            errors.append(f"{sh.ref(r, cols['name'])}: category {names.get(code, code)} appears again "
                          f"(first at row {seen[code]}), expected each category once")
            continue
        seen[code] = r
        if code not in names:
            warnings.append(f"{sh.ref(r, cols['name'])}: {_show(sh.raw(r, cols['name'], True))} is not a row "
                            f"of annex 5; kept as {code}")
        rows.append(_parse_row(sh, r, cols, code, names.get(code, ntext), group,
                               cat_group.get(code, group), errors, warnings))
    absent = [names[c] for c in names if c not in seen]
    if absent and rows:
        warnings.append(f"{sh.title}: rows missing for {', '.join(absent)}")
    if totals and rows and not errors:
        _check_totals(sh, totals, cols, rows, warnings)
    return rows


def _parse_row(sh, r, cols, code, name, group, true_group, errors, warnings) -> dict:
    if group and group != true_group:
        warnings.append(f"{sh.ref(r, cols['name'])}: {name} sits under {GROUP_LABELS[group]}; "
                        f"kept in {GROUP_LABELS[true_group]}")
    out = {"category_code": code, "category_group": true_group}
    specs = {"outlets": (_whole, "a whole number ≥ 0"),
             "employees_10k": (_nonneg, "a number ≥ 0 (10k persons)"),
             "chain_outlets": (_whole, "a whole number ≥ 0"),
             "satisfaction_pct": (_percent, "a percentage 0–100 (values ≤ 1 are read as fractions)")}
    bad = False
    for key, (reader, expected) in specs.items():
        cell = sh.ws.cell(r, cols[key])
        raw = None if isinstance(cell, MergedCell) else cell.value
        if cell.data_type == "f":  # already reported
            out[key], bad = None, True
            continue
        try:
            out[key] = reader(raw, cell.number_format) if key == "satisfaction_pct" else reader(raw)
        except _Bad:
            out[key] = None
            bad = True
            errors.append(f"{sh.ref(r, cols[key])}: {key} for {name} is {_show(raw)}, expected {expected}")
    demand = sh.raw(r, cols["demand_list"]) if "demand_list" in cols else None
    out["demand_list"] = restore(str(demand)).strip() or None if demand is not None else None
    if not bad and out["chain_outlets"] is not None and out["outlets"] is not None \
            and out["chain_outlets"] > out["outlets"]:
        errors.append(f"{sh.ref(r, cols['chain_outlets'])}: chain_outlets for {name} is "
                      f"{out['chain_outlets']}, expected at most the outlets ({out['outlets']})")
    if not bad and out["employees_10k"] is not None and out["employees_10k"] > 1:
        warnings.append(f"{sh.ref(r, cols['employees_10k'])}: employees_10k for {name} is "
                        f"{out['employees_10k']:g} (万人 = 10k persons); looks like a head count")
    return out


def _check_totals(sh, totals, cols, rows, warnings) -> None:
    r, raws = totals
    for key, reader, tol in (("outlets", _whole, 0), ("chain_outlets", _whole, 0),
                             ("employees_10k", _nonneg, 0.005 * len(rows) + 1e-9)):
        try:
            stated = reader(raws.get(key))
        except _Bad:
            warnings.append(f"{sh.ref(r, cols[key])}: 合计 {key} is {_show(raws.get(key))}; ignored")
            continue
        values = [row[key] for row in rows if row.get(key) is not None]
        if stated is not None and values and abs(stated - sum(values)) > tol:
            warnings.append(f"{sh.ref(r, cols[key])}: 合计 {key} is {stated:g} but the rows add up "
                            f"to {round(sum(values), 4):g}")


def _show(raw: Any) -> str:
    """A found value for a message: strings quoted, dates ISO, long text cut."""
    if raw is None:
        return "empty"
    if isinstance(raw, (datetime, date)):
        return raw.isoformat()
    if isinstance(raw, str):
        s = raw.strip()
        return repr(s if len(s) <= 40 else s[:40] + "…")
    return repr(raw)


# Public names for the other survey parsers (task progress): one way to read a cell.
BadValue = _Bad
read_percent = _percent
read_date = _as_date
read_whole = _whole
show_value = _show
DATE_HINT = _DATE_HINT
