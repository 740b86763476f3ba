"""Sample survey uploads for the sample city: the files people would send, dirt included.

Why: the upload DAG, the quarantine and the report need realistic input without real
residents' data. Everything derives from the seed (no clock, no global random state), so
the same call gives byte-identical files. Dirt, by position in ``circles``:
  * circles[0]: its satisfaction CSV is GBK-encoded and has fewer than 50 responses;
  * circles[1]: its workbook is messy but acceptable (full-width digits, √ marks, "90%",
    fractions, a split headline with an Excel date cell, variant category names);
  * circles[-1]: its workbook is malformed (outlets of 便利店 typed as text, no as-of date).
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

from lifecircle.surveys.annex5 import (
    DEVELOPMENT_FORMS,
    OPERATOR_TYPES,
    annex5_categories,
    annex5_row_numbers,
    build_annex5_workbook,
    save_deterministic,
)
from lifecircle.surveys.satisfaction import LABELS, write_responses_csv

#: (min, max) outlets per category in one circle
_OUTLET_RANGE = {
    "convenience_store": (5, 25), "supermarket": (1, 4), "wet_market": (0, 2),
    "fresh_food_store": (2, 8), "breakfast": (0, 12), "repair": (1, 6), "laundry": (1, 4),
    "hair_beauty": (4, 15), "photo_print": (1, 4), "pharmacy": (2, 8), "housekeeping": (1, 4),
    "post_parcel": (2, 8), "recycling": (0, 3), "basic_other": (0, 5), "bookstore": (0, 2),
    "fitness": (0, 4), "specialty_dining": (2, 12), "elderly_care": (0, 2), "childcare": (0, 2),
    "wellness": (0, 5), "education": (1, 6), "leisure": (0, 5), "quality_other": (0, 3),
}
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
          "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "红梅"]
MESSY_NAMES = {"fresh_food_store": "生鲜超市（菜店）", "post_parcel": "邮政快递综合服务点",
               "hair_beauty": "美容美发", "convenience_store": " 便 利 店 "}
MALFORMED_OUTLETS = "三十"


def _rng(seed: int, *parts: object) -> random.Random:
    """A private generator per (seed, purpose): str seeds hash with SHA-512, not hash()."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _month(as_of: date) -> str:
    return f"{as_of:%Y-%m}"


def sample_form(circle: dict, as_of: date, seed: int) -> dict:
    """The filled annex-5 form for one circle (what the messy workbook must parse to)."""
    rng = _rng(seed, "form", circle["circle_code"])
    rows = []
    for cat in annex5_categories():
        lo, hi = _OUTLET_RANGE.get(cat["code"], (0, 3))
        outlets = rng.randint(lo, hi)
        chain = sum(1 for _ in range(outlets) if rng.random() < 0.35)
        employees = round(max(outlets * rng.uniform(3, 9) / 10000, 0.01), 2) if outlets else 0.0
        satisfaction = round(rng.uniform(82, 96), 1) if outlets else None
        demand = None
        if outlets == 0:
            demand = f"缺少{cat['name_zh']}" if cat["name_zh"] != "其他" else None
        elif rng.random() < 0.12:
            demand = rng.choice(["希望延长营业时间", "价格偏高", "希望增加品牌连锁店", "缺少早餐店、托育站点"])
        rows.append({"category_code": cat["code"], "category_group": cat["group"], "outlets": outlets,
                     "employees_10k": employees, "chain_outlets": chain,
                     "satisfaction_pct": satisfaction, "demand_list": demand})
    operators = [code for code, _ in OPERATOR_TYPES if rng.random() < 0.4] or ["street_community"]
    return {
        "circle_name": circle["name"],
        "city": circle.get("city", "天水市"),
        "as_of": as_of,
        "operator_types": operators,
        "smart_platform": rng.random() < 0.5,
        "development_form": rng.choice(DEVELOPMENT_FORMS)[0],
        "commercial_centres": rng.randint(0, 2),
        "residents_covered_10k": round(rng.uniform(0.8, 3.5), 2),
        "facility_area_share_pct": round(rng.uniform(6, 14), 2),
        "rows": rows,
        "communities": list(circle.get("communities") or []),
    }


def sample_responses(circle: dict, as_of: date, seed: int, n: int) -> list[dict]:
    """``n`` fake 问卷星 responses for one circle, a few from repeat respondents."""
    rng = _rng(seed, "responses", circle["circle_code"])
    share = rng.uniform(0.82, 0.96)
    communities = list(circle.get("communities") or [None])
    codes = [c["code"] for c in annex5_categories() if c["name_zh"] != "其他"]
    people: list[tuple[str, str, str]] = []
    out = []
    for _ in range(n):
        if people and rng.random() < 0.04:
            phone, name, ip = rng.choice(people)
        else:
            phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            ip = f"61.178.{rng.randint(0, 255)}.{rng.randint(1, 254)}(甘肃-天水)"
            people.append((phone, name, ip))
        score = rng.choice([4, 5]) if rng.random() < share else rng.choice([1, 2, 3, 3])
        day = datetime.combine(as_of - timedelta(days=rng.randint(1, 20)), time(0, 0))
        moment = day + timedelta(seconds=rng.randint(8 * 3600, 22 * 3600 - 1))
        out.append({
            "submitted_at": moment, "duration_s": rng.randint(35, 400),
            "source": rng.choice(["手机提交", "微信", "链接"]), "ip": ip,
            "circle_name": circle["name"], "community_name": rng.choice(communities),
            "satisfaction": LABELS[score], "missing_categories": rng.sample(codes, rng.randint(0, 3)),
            "phone": phone if rng.random() < 0.9 else None, "name": name,
        })
    out.sort(key=lambda r: r["submitted_at"])
    for i, r in enumerate(out, start=1):
        r["seq"] = i
    return out


def _stamp(as_of: date) -> datetime:
    return datetime.combine(as_of, time(9, 0))


def _write_messy(path: Path, form: dict, seed: int) -> Path:
    """Same numbers as ``form``, typed the way people really type them."""
    rng = _rng(seed, "messy", form["circle_name"])
    wb = build_annex5_workbook(form)
    ws = wb.active
    ws.unmerge_cells("A2:I2")
    ws["A2"], ws["B2"] = "试点生活圈：", f"  {form['circle_name']} "
    ws["D2"], ws["E2"] = "所在城市：", form["city"]
    ws["G2"], ws["H2"] = "截至日期", datetime.combine(form["as_of"], time(0, 0))
    ws["H2"].number_format = "yyyy/m/d"
    for cell in (ws["B3"], ws["G3"]):
        cell.value = cell.value.replace("☑", "√" if cell.coordinate == "B3" else "■")
    fw = str.maketrans("0123456789.", "０１２３４５６７８９．")
    for code, row in annex5_row_numbers().items():
        values = next(r for r in form["rows"] if r["category_code"] == code)
        if code in MESSY_NAMES:
            ws.cell(row, 2).value = MESSY_NAMES[code]
        if values["outlets"] is not None and rng.random() < 0.5:
            ws.cell(row, 3).value = str(values["outlets"]).translate(fw)
        if values["employees_10k"] is not None and rng.random() < 0.3:
            ws.cell(row, 4).value = f"{values['employees_10k']:.2f}".translate(fw)
        if values["chain_outlets"] is not None and rng.random() < 0.3:
            ws.cell(row, 5).value = f" {values['chain_outlets']} "
        sat = values["satisfaction_pct"]
        if sat is not None:
            style = rng.choice(["pct", "fraction", "fullwidth", "plain"])
            if style == "pct":
                ws.cell(row, 6).value = f"{sat:g}%"
            elif style == "fraction":
                ws.cell(row, 6).value = round(sat / 100, 4)
                ws.cell(row, 6).number_format = "0.0%"
            elif style == "fullwidth":
                ws.cell(row, 6).value = f"{sat:g}％".translate(fw)
        if values["demand_list"]:
            ws.cell(row, 7).value = f"  {values['demand_list']}  "
    for col in range(3, 6):  # people often leave 合计 empty
        ws.cell(7, col).value = None
    return save_deterministic(wb, path, _stamp(form["as_of"]))


def _write_malformed(path: Path, form: dict) -> Path:
    """Outlets of 便利店 typed as Chinese text, and the as-of date left as in the template."""
    wb = build_annex5_workbook(form)
    ws = wb.active
    ws["A2"].value = (f"试点生活圈:{form['circle_name']}        所在城市:{form['city']}"
                      f"        截至日期:{form['as_of'].year}年  月  日")
    ws.cell(annex5_row_numbers()["convenience_store"], 3).value = MALFORMED_OUTLETS
    return save_deterministic(wb, path, _stamp(form["as_of"]))


def make_sample_uploads(uploads_dir: Path, circles: list[dict], as_of: date, seed: int) -> list[Path]:
    """One annex-5 workbook and one satisfaction CSV per circle, with the dirt above.

    ``circles``: [{"circle_code", "name", "communities": [names]}] (at least 3, so each
    kind of dirt lands on a different circle). Returns the written paths, sorted.
    """
    if len(circles) < 3:
        raise ValueError(f"need at least 3 circles to place the sample dirt, got {len(circles)}")
    uploads_dir = Path(uploads_dir)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    month = _month(as_of)
    paths = []
    for i, circle in enumerate(circles):
        code = circle["circle_code"]
        form = sample_form(circle, as_of, seed)
        xlsx = uploads_dir / f"annex5_{code}_{month}.xlsx"
        if i == len(circles) - 1:
            _write_malformed(xlsx, form)
        elif i == 1:
            _write_messy(xlsx, form, seed)
        else:
            save_deterministic(build_annex5_workbook(form), xlsx, _stamp(as_of))
        n = _rng(seed, "n", code).randint(40, 49) if i == 0 else _rng(seed, "n", code).randint(50, 120)
        csv_path = uploads_dir / f"satisfaction_{code}_{month}.csv"
        write_responses_csv(csv_path, sample_responses(circle, as_of, seed, n),
                            encoding="gbk" if i == 0 else "utf-8-sig")
        paths += [xlsx, csv_path]
    return sorted(paths)


__all__ = ["make_sample_uploads", "sample_form", "sample_responses"]
