"""Which kind of survey file is this — from its content, never its name.

Why: people rename files (一圈一表.xlsx, 附件5(2).xlsx, an .xlsx saved as "data.csv"), so
the name says little. The first rows of the file do: the annex-5 form has its title and
a 主要业态网点 table; a task-progress report has a 任务编号 column next to status/progress;
a survey-platform export has 提交答卷时间/来自IP or a satisfaction question next to the
circle question. When the signals are absent or point two ways the answer is None (the
upload is then rejected as "unknown kind" rather than parsed with the wrong parser).
Run ``file_guard.check_upload`` first: this opens the workbook.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from lifecircle.surveys.annex5 import norm
from lifecircle.surveys.file_guard import ZIP_MAGIC

PREVIEW_ROWS = 40
PREVIEW_COLS = 30
KINDS = ("annex5", "satisfaction", "task_progress")


def is_zip(path: Path) -> bool:
    with Path(path).open("rb") as f:
        return f.read(4) in ZIP_MAGIC


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace"), "gbk"


def sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max(("\t", ";", ","), key=lambda d: (first.count(d), d == ","))


def preview(path: Path) -> list[list[list[str]]]:
    """Normalised text of the first rows of every sheet (a CSV is one sheet)."""
    path = Path(path)
    if is_zip(path):
        from openpyxl import load_workbook

        with path.open("rb") as f:  # a file object: openpyxl then ignores the extension
            wb = load_workbook(f, read_only=True, data_only=False)
            try:
                return [[[norm(v) for v in row if v is not None and str(v).strip()]
                         for row in ws.iter_rows(max_row=PREVIEW_ROWS, max_col=PREVIEW_COLS, values_only=True)]
                        for ws in wb.worksheets]
            finally:
                wb.close()
    with path.open("rb") as f:
        text, _ = decode_text(f.read(256 * 1024))
    lines = text.splitlines()[:PREVIEW_ROWS]
    rows = csv.reader(io.StringIO("\n".join(lines)), delimiter=sniff_delimiter(text))
    return [[[norm(v) for v in row if v.strip()] for row in rows]]


def _scores(sheet: list[list[str]]) -> dict[str, int]:
    cells = [c for row in sheet for c in row]
    joined = "|".join(cells)
    s = dict.fromkeys(KINDS, 0)
    if "试点便民生活圈建设情况调查表" in joined:
        s["annex5"] += 2
    if any(re.search(r"主要业态", c) for c in cells):
        s["annex5"] += 2
    if any("商业网点" in c for c in cells) and any("从业人数" in c for c in cells):
        s["annex5"] += 1
    for row in sheet:
        task_col = any(re.fullmatch(r"(任务编号|任务序号|任务ID|任务id|taskid|task_id|编号)", c, re.I) for c in row)
        progress_col = any(re.search(r"状态|进度|进展|完成情况|status|progress", c, re.I) for c in row)
        if task_col and progress_col:
            s["task_progress"] += 3
            break
    if re.search(r"任务进展|工作进展|进展情况报告|任务推进", joined):
        s["task_progress"] += 1
    for row in sheet:
        platform = sum(1 for c in row if re.search(r"提交答卷时间|所用时间|来自IP|答卷|来源渠道", c, re.I))
        asks = [i for i, c in enumerate(row) if "满意" in c]
        where = [i for i, c in enumerate(row) if "生活圈" in c or "社区" in c]
        question = any(i != j for i in asks for j in where)
        if platform >= 2 or (question and not any("主要业态" in c for c in row)):
            s["satisfaction"] += 3 if platform >= 2 else 2
            break
    return s


def detect_kind(path: Path) -> str | None:
    """"annex5" | "satisfaction" | "task_progress", or None when unsure or unreadable."""
    try:
        sheets = preview(Path(path))
    except Exception:  # noqa: BLE001 - an unreadable file has no kind; the parser says why
        return None
    best: dict[str, int] = dict.fromkeys(KINDS, 0)
    for sheet in sheets:
        for kind, score in _scores(sheet).items():
            best[kind] = max(best[kind], score)
    top = max(best.values())
    winners = [k for k, v in best.items() if v == top]
    return winners[0] if top >= 2 and len(winners) == 1 else None
