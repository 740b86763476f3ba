"""Resident-satisfaction survey exports (问卷星-style CSV): writer, parser, per-circle summary.

Why: annex 5 asks for resident satisfaction per circle from at least 50 sampled
responses, and the target is ≥ 90%. The raw export carries personal data (phone, name,
ID number, IP); the parser reads it only to build a salted hash that spots repeat
respondents, and none of it ever leaves this module (not in rows, errors or warnings).
Columns are found by keywords because every questionnaire numbers and words its
questions a little differently.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lifecircle.surveys.annex5 import category_code_for, category_key, category_lookup, clean_name, norm
from lifecircle.surveys.excel_safety import neutralise, restore

MIN_SAMPLE = 50  # annex 5 说明 2: 每个生活圈抽样调查不少于50份
MULTI_SEP = "┋"  # 问卷星 joins the options of a multi-select answer with ┋

COLUMNS = {
    "seq": "序号",
    "submitted_at": "提交答卷时间",
    "duration": "所用时间",
    "source": "来源",
    "ip": "来自IP",
    "circle": "1、您所在的便民生活圈",
    "community": "2、您所在的社区",
    "satisfaction": "3、您对本生活圈便民服务的总体满意度",
    "missing": "4、您觉得生活圈还缺少哪些业态（多选）",
    "phone": "5、您的手机号",
    "name": "6、您的姓名",
    "id_number": "7、您的身份证号",
}
#: field → keywords tried in order; fields are matched in this order and a column is
#: claimed once, so "满意度" is taken before "生活圈" can grab question 3.
DEFAULT_QUESTION_MAP: dict[str, list[str]] = {
    "seq": ["序号"],
    "submitted_at": ["提交答卷时间", "提交时间", "答题时间"],
    "ip": ["来自IP", "IP地址", "IP"],
    "phone": ["手机", "电话", "联系方式"],
    "name": ["姓名"],
    "id_number": ["身份证"],
    "satisfaction": ["满意度", "满意"],
    "missing": ["缺少", "缺什么", "还需要"],
    "circle": ["所在的便民生活圈", "所在生活圈", "生活圈"],
    "community": ["所在的社区", "所在社区", "社区"],
}
PII_FIELDS = ("phone", "name", "id_number", "ip")
SCORES = {"非常满意": 5, "很满意": 5, "满意": 4, "比较满意": 4, "较满意": 4, "基本满意": 3,
          "一般": 3, "不太满意": 2, "较不满意": 2, "不满意": 2, "非常不满意": 1, "很不满意": 1}
LABELS = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}
_EMPTY = {"", "(空)", "(跳过)", "-", "—"}


@dataclass
class ResponsesResult:
    """Parsed responses without personal data; rows with errors are left out."""

    rows: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → header found


# ====================================================================== writing
def _fmt_time(value: Any) -> str:
    if isinstance(value, datetime):
        return f"{value.year}/{value.month}/{value.day} {value:%H:%M:%S}"
    return "" if value is None else str(value)


def write_responses_csv(path: str | Path, responses: list[dict], encoding: str = "utf-8-sig") -> Path:
    """Write responses the way 问卷星 exports them (按选项文本).

    Each response: submitted_at (datetime|str), duration_s, source, ip, circle_name,
    community_name, satisfaction (label or 1–5), missing_categories (codes or names),
    phone, name, optional id_number and seq. The ID column is written only if used.
    """
    path = Path(path)
    names = _code_names()
    keys = [k for k in COLUMNS if k != "id_number" or any(r.get("id_number") for r in responses)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([COLUMNS[k] for k in keys])
    for i, r in enumerate(responses, start=1):
        sat = r.get("satisfaction")
        missing = [names.get(m, m) for m in r.get("missing_categories") or []]
        values = {
            "seq": r.get("seq", i),
            "submitted_at": _fmt_time(r.get("submitted_at")),
            "duration": f"{r['duration_s']}秒" if r.get("duration_s") is not None else "",
            "source": r.get("source", "手机提交"),
            "ip": r.get("ip", ""),
            "circle": r.get("circle_name", ""),
            "community": r.get("community_name") or "(空)",
            "satisfaction": LABELS.get(sat, sat) if isinstance(sat, int) else (sat or ""),
            "missing": MULTI_SEP.join(missing) if missing else "(空)",
            "phone": r.get("phone") or "(空)",
            "name": r.get("name") or "(空)",
            "id_number": r.get("id_number") or "(空)",
        }
        writer.writerow([neutralise(values[k]) for k in keys])  # OWASP: no cell starts a formula
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _code_names() -> dict[str, str]:
    from lifecircle.refdata import load_categories

    df = load_categories()
    return dict(zip(df["category_code"], df["name_zh"]))


# ====================================================================== reading
def _read_table(path: Path, warnings: list[str]) -> list[list[str]]:
    """Rows of a CSV (UTF-8 with/without BOM, else GBK/GB18030) or of an .xlsx export."""
    from lifecircle.surveys.detect import is_zip

    if is_zip(path):  # by content: an .xlsx export renamed to .csv is still read as a workbook
        from openpyxl import load_workbook

        with path.open("rb") as f:
            wb = load_workbook(f, read_only=True, data_only=False)
            rows = [["" if v is None else v for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
            wb.close()
        return rows
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
        warnings.append(f"{path.name}: not UTF-8; read as GBK (GB18030)")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _map_columns(header: list[str], question_map: dict | None) -> dict[str, int]:
    """Field → column index. ``question_map`` values may be an exact header or keywords."""
    qmap = {k: list(v) for k, v in DEFAULT_QUESTION_MAP.items()}
    for key, value in (question_map or {}).items():
        qmap[key] = [value] if isinstance(value, str) else list(value)
    heads = [norm(h) for h in header]
    taken: dict[str, int] = {}
    for key, keywords in qmap.items():
        for kw in keywords:
            k = norm(kw)
            hits = [i for i, h in enumerate(heads) if i not in taken.values() and (h == k or k in h)]
            exact = [i for i in hits if heads[i] == k]
            if hits:
                taken[key] = (exact or hits)[0]
                break
    return taken


def _score(value: Any) -> int | None:
    """非常满意…非常不满意 → 5…1; numeric 1–5 (also "4分") as is; None if unreadable."""
    s = norm(value)
    if s in SCORES:
        return SCORES[s]
    m = re.fullmatch(r"([1-5])(?:\.0+)?分?", s)
    return int(m.group(1)) if m else None


def _looks_personal(text: str, secrets: list[str], name: str) -> bool:
    """True if an answer we would output holds this row's phone/ID/IP, a long digit run or
    is exactly the respondent's name (a shifted CSV row, or a phone typed into a fill-in)."""
    t = norm(text)
    return (bool(re.search(r"\d{7,}|\d+\.\d+\.\d+\.\d+", t)) or any(s in t for s in secrets)
            or bool(name) and t == name)


def _echo(value: Any) -> str:
    """A found value for a message, cut short, long digit runs masked (never PII)."""
    s = re.sub(r"\d{5,}", "…", str(value)[:20])
    return repr(s) if s else "empty"


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    s = str(value).strip()
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def _hash(salt: str, phone: str, name: str, ip: str) -> str | None:
    """sha256(salt + phone), or sha256(salt + name + "|" + ip) when no phone was given;
    None when the row carries none of them."""
    digits = re.sub(r"\D", "", norm(phone))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    ip_addr = re.sub(r"\(.*$", "", norm(ip))
    name = norm(name)
    if digits:
        key = digits
    elif name or ip_addr:
        key = f"{name}|{ip_addr}"
    else:
        return None
    return hashlib.sha256((salt + key).encode("utf-8")).hexdigest()


def _anonymous(salt: str, file_name: str, row: int, seen: list[int]) -> str:
    """A hash unique to one row (the warehouse needs one for every respondent)."""
    seen.append(row)
    return hashlib.sha256(f"{salt}anonymous|{file_name}|{row}".encode("utf-8")).hexdigest()


def parse_responses(path: str | Path, question_map: dict | None = None, *, salt: str) -> ResponsesResult:
    """Parse a satisfaction export into rows free of personal data.

    Row: row_no, circle_name, community_name, satisfied, satisfaction_score,
    missing_categories (codes), submitted_at, respondent_hash. Errors name the row number
    (header = row 1) and the column; a row with an error is left out.
    """
    if not salt:
        raise ValueError("salt must be a non-empty secret: unsalted phone hashes can be reversed")
    path = Path(path)
    result = ResponsesResult()
    try:
        table = _read_table(path, result.warnings)
    except Exception as exc:  # noqa: BLE001 - an unreadable file is one error
        result.errors.append(f"{path.name}: cannot be read ({type(exc).__name__}), "
                             "expected a CSV or .xlsx export")
        return result
    while table and not any(str(v).strip() for v in table[0]):
        table.pop(0)  # leading blank lines before the header
    if not table:
        result.errors.append(f"{path.name}: empty file, expected a header row and responses")
        return result
    header = [str(h).strip() for h in table[0]]
    cols = _map_columns(header, question_map)
    result.columns = {k: header[i] for k, i in cols.items()}
    for key in ("circle", "satisfaction"):
        if key not in cols:
            result.errors.append(f"{path.name}: no column for {key} (looked for "
                                 f"{', '.join(DEFAULT_QUESTION_MAP[key])}), found {', '.join(header)}")
    if result.errors:
        return result

    lookup = category_lookup()
    anonymous: list[int] = []
    unknown: Counter[str] = Counter()
    untimed = []
    for n, raw in enumerate(table[1:], start=2):  # n = row in the file, header = 1
        if not any(str(v).strip() for v in raw):
            continue
        def get(key: str) -> str:
            i = cols.get(key)
            v = raw[i] if i is not None and i < len(raw) else ""
            v = "" if v is None else (v if isinstance(v, datetime) else restore(str(v)).strip())
            return "" if isinstance(v, str) and norm(v) in _EMPTY else v

        secrets = [norm(get(k)) for k in ("phone", "id_number", "ip") if len(norm(get(k))) >= 5]
        personal = [k for k in ("circle", "community", "satisfaction")
                    if k in cols and _looks_personal(str(get(k)), secrets, norm(get("name")))]
        if personal:
            result.errors.append(f"row {n}, column '{header[cols[personal[0]]]}': holds what looks like "
                                 "personal data (phone, ID, IP or name), expected a plain answer; "
                                 "row left out")
            continue
        circle = clean_name(get("circle"))
        if not circle:
            result.errors.append(f"row {n}, column '{header[cols['circle']]}': circle name is empty, "
                                 "expected the circle's name")
            continue
        score = _score(get("satisfaction"))
        if score is None:
            result.errors.append(f"row {n}, column '{header[cols['satisfaction']]}': "
                                 f"{_echo(get('satisfaction'))}, expected "
                                 "非常满意/满意/一般/不满意/非常不满意 or a score 1–5")
            continue
        missing = []
        for part in re.split(r"[┋|;；,，、/\n]+", str(get("missing"))):
            part = re.sub(r"〖.*?〗|\[.*?\]", "", part).strip()  # drop 其他〖free text〗
            if not part or norm(part) in _EMPTY:
                continue
            code = category_code_for(part, lookup)
            if code is None:
                unknown["其他" if category_key(part).startswith("其他") else part[:20]] += 1
            elif code not in missing:
                missing.append(code)
        submitted = _parse_time(get("submitted_at")) if get("submitted_at") else None
        if submitted is None and "submitted_at" in cols:
            untimed.append(n)
        community = clean_name(str(get("community"))) or None
        result.rows.append({
            "row_no": n,
            "circle_name": circle,
            "community_name": community,
            "satisfied": score >= 4,
            "satisfaction_score": score,
            "missing_categories": missing,
            "submitted_at": submitted,
            "respondent_hash": _hash(salt, str(get("phone")), str(get("name")), str(get("ip")))
            or _anonymous(salt, path.name, n, anonymous),
        })
    if unknown and "missing" in cols:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items()))
        result.warnings.append(f"column '{header[cols['missing']]}': answers not mapped to a category "
                               f"(其他 cannot tell basic from quality): {listed}")
    if untimed:
        result.warnings.append(f"column '{header[cols['submitted_at']]}': no readable time in rows "
                               f"{', '.join(map(str, untimed[:10]))}{' …' if len(untimed) > 10 else ''}")
    if anonymous:
        result.warnings.append(f"{path.name}: {len(anonymous)} rows carry no phone, name or IP; each "
                               "counts as a respondent of its own")
    if "phone" not in cols and "name" not in cols:
        result.warnings.append(f"{path.name}: no phone or name column; repeat respondents are "
                               "told apart by IP only")
    return result


def summarise(rows: list[dict]) -> list[dict]:
    """Per circle: responses, satisfied, satisfaction_pct, sample_ok (responses ≥ 50),
    repeat_respondents (respondents with more than one response) and distinct_respondents."""
    by_circle: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_circle[r["circle_name"]].append(r)
    out = []
    for circle in sorted(by_circle):
        group = by_circle[circle]
        satisfied = sum(1 for r in group if r["satisfied"])
        counts = Counter(r["respondent_hash"] for r in group if r.get("respondent_hash"))
        anonymous = sum(1 for r in group if not r.get("respondent_hash"))
        out.append({
            "circle_name": circle,
            "responses": len(group),
            "satisfied": satisfied,
            "satisfaction_pct": round(100 * satisfied / len(group), 2),
            "sample_ok": len(group) >= MIN_SAMPLE,
            "repeat_respondents": sum(1 for c in counts.values() if c > 1),
            "distinct_respondents": len(counts) + anonymous,
        })
    return out
