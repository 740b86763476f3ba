"""Build the month's progress table, the self-contained HTML report and the workbook."""
from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lifecircle import refdata, settings
from lifecircle.coverage.plan_views import load_pairs, pairs_path
from lifecircle.period import Month
from lifecircle.report.charts import community_map, line_chart
from lifecircle.report.progress import PROGRESS_COLUMNS, STATUS_LABELS, compute_progress
from lifecircle.report.workbook import write_workbook
from lifecircle.warehouse.bulk import replace_rows
from lifecircle.warehouse.engine import get_engine, read_frame

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).with_name("templates")
DQ_PARTIAL = "_dq_section.html.j2"
SOURCES = ("registrations", "pois", "uploads")
SOURCE_LABELS = {"registrations": "市场主体登记", "pois": "地图网点(POI)", "uploads": "调查表上传",
                 "poi_snapshot": "覆盖率所用地图快照"}
INDICATOR_LABELS = {
    "communities_covered_share": "生活圈覆盖社区比例", "residents_covered_share": "覆盖居民比例",
    "satisfaction_pct": "居民综合满意度(%)", "chain_share": "品牌连锁店占比",
    "facility_area_share_pct": "商业和综合服务设施面积占比(%)",
    "facility_m2_per_100_households": "每百户社区服务设施面积(m²)",
    "registered_outlets": "登记在营网点数", "located_outlets": "地图网点数",
    "communities_in_built_circles_share": "已建生活圈包含社区比例", "missing_basic_categories": "缺少的基本保障类业态数",
    "reported_outlets": "调查表上报商业网点数", "reported_employees_10k": "调查表上报从业人数(万人)",
    "reported_chain_outlets": "调查表上报品牌连锁店数", "reported_chain_share": "调查表品牌连锁店占比",
    "reported_commercial_centres": "社区商业中心(邻里中心)数", "reported_residents_covered_10k": "调查表上报覆盖居民(万人)",
    "typology": "生活圈分型等级", "pairs_all_share": "“一店一早、一菜一修、一老一小”齐全社区比例",
}
DEVELOPMENT_FORM_LABELS = {"clustered": "集聚式", "street_block": "街区式(街坊式)", "dispersed": "分布式"}
# Shown in their own sections, not in the "other city indicators" list.
PLAN_SECTION_PREFIXES = ("development_form", "typology")
CONDITION_LABELS = {"require_all_basic": "基本保障类业态齐全", "min_quality_categories": "品质提升类业态种类",
                    "min_chain_share": "品牌连锁店占比", "min_satisfaction_pct": "居民满意度",
                    "require_smart_platform": "便民生活圈智慧服务平台"}
METHOD_NOTES = {"approximate": "（无步行路网：直线距离×绕行系数估算）"}
FACILITY_M2_NOTE = ("每百户社区服务设施面积：附件5调查表只填报设施面积占比，未填报设施面积或总建筑面积，"
                    "无法换算为每百户平方米，本期显示为无数据。")
LEVEL_LABELS = {"city": "全市", "district": "区", "circle": "生活圈", "community": "社区"}
TASK_STATE_LABELS = {"completed": "已完成（已报送）", "ongoing": "常态化推进", "overdue": "已逾期（未收到完成报告）",
                     "due_soon": "30天内到期", "open": "推进中"}
TASK_REPORT_STATUS = {"not_started": "未启动", "in_progress": "推进中", "completed": "已完成", "blocked": "受阻"}



def progress(period: str) -> dict:
    """Compute and store mart.monthly_progress for ``period``."""
    month = Month.parse(period)
    engine = get_engine()
    with engine.connect() as conn:
        current = read_frame(conn, "SELECT * FROM mart.coverage_indicator WHERE period = :p", p=str(month))
        # only what the trend and the change need: tracked (level, indicator) pairs, the last 12 months
        history = read_frame(conn, """SELECT period, level, unit_code, indicator, value FROM mart.coverage_indicator
            WHERE period < :p AND period >= :since
              AND (level, indicator) IN (SELECT level, indicator FROM core.target)""",
                        p=str(month), since=str(month.shift(-12)))
        targets = read_frame(conn, "SELECT * FROM core.target ORDER BY indicator, level, due_date")
    if current.empty:
        raise RuntimeError(f"no indicators for {month}: run the coverage DAG for this month first")
    table = compute_progress(str(month), month.end, current, history, targets)
    with engine.begin() as conn:
        replace_rows(conn, "mart.monthly_progress", table, "period = :p", {"p": str(month)}, PROGRESS_COLUMNS)
    city = table[table["level"] == "city"]
    return {"period": str(month), "rows": len(table), "city_status": dict(zip(city["indicator"], city["status"]))}


# ---------------------------------------------------------------- freshness
def freshness(conn, month: Month) -> list[dict]:
    """Per source: this month's load, else the last successful one — stated, never hidden.
    Plus the POI snapshot the coverage figures used (the latest one up to the month's end)."""
    out = []
    for source in SOURCES:
        rows = conn.execute(sa.text("""SELECT period, as_of, status, rows_received, rows_accepted, rows_quarantined
            FROM raw.load WHERE source = :s AND period <= :p ORDER BY period DESC"""),
                            {"s": source, "p": str(month)}).mappings().all()
        own = next((r for r in rows if r["period"] == str(month)), None)
        last_ok = next((r for r in rows if r["status"] == "succeeded"), None)
        base = {"source": source, "label": SOURCE_LABELS[source]}
        if own is not None and own["status"] == "succeeded":
            out.append({**base, "state": "fresh", "text": f"本期已加载（截至 {own['as_of']}）", **dict(own)})
            continue
        why = f"本期加载未成功（状态：{own['status']}）" if own is not None else "本期未加载"
        if last_ok is not None:
            out.append({**base, "state": "stale", **dict(last_ok),
                        "text": f"数据陈旧：{why}；最近一次成功加载为 {last_ok['period']}（截至 {last_ok['as_of']}），"
                                "相关指标反映的是该时点的数据"})
        else:
            out.append({**base, "state": "missing", "text": f"无数据：{why}，且此前无成功加载"})
    out.append(poi_snapshot(conn, month))
    return out


def poi_snapshot(conn, month: Month) -> dict:
    """The map snapshot coverage.run used for the month (the latest on or before its end)."""
    snap = conn.execute(sa.text("SELECT max(snapshot_date) FROM core.outlet_location WHERE snapshot_date <= :d"),
                        {"d": month.end}).scalar()
    base = {"source": "poi_snapshot", "label": SOURCE_LABELS["poi_snapshot"], "snapshot": snap}
    if snap is None:
        return {**base, "state": "missing", "text": "无地图网点快照：步行覆盖指标无法计算"}
    if snap < month.start:
        return {**base, "state": "stale",
                "text": f"本期无地图快照，覆盖率使用的是 {snap} 的快照（非本期数据）"}
    return {**base, "state": "fresh", "text": f"本期快照 {snap}"}


# ---------------------------------------------------------------- helpers
def _missing(x) -> bool:
    return x is None or (not isinstance(x, str) and pd.isna(x))


def _fmt(value, indicator: str) -> str:
    if _missing(value):
        return "—"
    if indicator.endswith("_share"):
        return f"{float(value):.1%}"
    if indicator.endswith("_pct"):
        return f"{float(value):.1f}%"
    return f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}"


def _fmt_change(value, indicator: str) -> str:
    if _missing(value):
        return "—"
    if indicator.endswith("_share"):
        return f"{float(value) * 100:+.1f}个百分点"
    return f"{float(value):+,.2f}"


def _dq_context(conn, month: Month) -> tuple[bool, dict | None]:
    """Whether the quality developer's partial is usable: the template exists and
    ``lifecircle.quality.summary`` imports; then its summary for the month."""
    if not (TEMPLATES / DQ_PARTIAL).is_file():
        return False, None
    try:
        from lifecircle.quality.summary import dq_summary
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to the built-in tables
        log.warning("data-quality summary unavailable (%s); using the built-in tables", exc)
        return False, None
    try:
        return True, dq_summary(conn, str(month))
    except Exception as exc:  # noqa: BLE001
        log.warning("dq_summary(%s) failed (%s); using the built-in tables", month, exc)
        return False, None


def _load(conn, month: Month) -> dict[str, pd.DataFrame]:
    p = str(month)
    q = {
        "prog": ("SELECT * FROM mart.monthly_progress WHERE period = :p ORDER BY level, unit_code, indicator", {"p": p}),
        "city_ind": ("SELECT period, indicator, value FROM mart.coverage_indicator WHERE level = 'city' AND period <= :p "
                     "ORDER BY period, indicator", {"p": p}),
        "ind": ("SELECT * FROM mart.coverage_indicator WHERE period = :p ORDER BY level, unit_code, indicator", {"p": p}),
        "targets": ("SELECT * FROM core.target ORDER BY indicator, level, due_date", {}),
        "circles": ("SELECT * FROM core.circle ORDER BY circle_code", {}),
        "members": ("SELECT m.circle_code, m.community_code, m.role, c.name, c.population FROM core.circle_member m "
                    "JOIN core.community c USING (community_code) ORDER BY m.circle_code, m.role, m.community_code", {}),
        "communities": ("SELECT community_code, name, lng, lat, population FROM core.community ORDER BY community_code", {}),
        "categories": ("SELECT * FROM core.category ORDER BY (category_group <> 'basic'), annex5_order, category_code", {}),
        "access": ("SELECT a.*, c.name AS community_name, k.name_zh AS category_name, k.annex5_order FROM mart.community_category_access a "
                   "JOIN core.community c USING (community_code) JOIN core.category k USING (category_code) "
                   "WHERE a.period = :p ORDER BY a.community_code, k.annex5_order, a.category_code", {"p": p}),
        "surveys": ("SELECT * FROM core.circle_survey WHERE period = :p ORDER BY circle_code", {"p": p}),
        "sat": ("SELECT * FROM core.circle_satisfaction WHERE period = :p ORDER BY circle_code", {"p": p}),
        "tasks": ("SELECT * FROM mart.v_task_status WHERE period = :p ORDER BY annex, seq, task_id", {"p": p}),
        "units": ("SELECT * FROM mart.v_unit_reporting WHERE period = :p ORDER BY unit", {"p": p}),
        "dq": ("SELECT * FROM mart.dq_results WHERE period = :p ORDER BY table_name, suite, expectation", {"p": p}),
        "quarantine": ("SELECT source, rows_received, rows_accepted, rows_quarantined FROM raw.load "
                       "WHERE period = :p ORDER BY source", {"p": p}),
        "cities": ("SELECT code, name FROM core.division WHERE level = 'city' ORDER BY code", {}),
        "missing": ("""SELECT m.*, c.name AS community_name, k.name_zh AS category_name, k.annex5_order
                FROM mart.missing_category m JOIN core.community c USING (community_code)
                JOIN core.category k USING (category_code) WHERE m.period = :p
                ORDER BY m.circle_code, k.annex5_order, m.category_code, m.community_code""", {"p": p}),
        "sites": ("""SELECT s.*, k.name_zh AS category_name, k.annex5_order FROM mart.candidate_site s
                JOIN core.category k USING (category_code) WHERE s.period = :p
                ORDER BY s.circle_code, k.annex5_order, s.category_code, s.rank""", {"p": p}),
        "typology": ("SELECT * FROM mart.circle_typology WHERE period = :p ORDER BY circle_code", {"p": p}),
        "survey_cats": ("""SELECT s.circle_code, c.category_code, c.outlets, c.employees_10k, c.chain_outlets,
                c.satisfaction_pct, c.demand_list FROM core.circle_survey s
                JOIN staging.survey_category c ON c.upload_id = s.upload_id WHERE s.period = :p
                ORDER BY s.circle_code, c.category_code""", {"p": p}),
        "located": ("""SELECT m.circle_code, o.category_code, count(*) AS n FROM core.outlet_location o
                JOIN core.circle_member m ON m.community_code = o.community_code
                WHERE o.snapshot_date = (SELECT max(snapshot_date) FROM core.outlet_location WHERE snapshot_date <= :d)
                GROUP BY 1, 2 ORDER BY 1, 2""", {"d": month.end}),
        "registered": ("""SELECT m.circle_code, h.category_code, count(*) AS n, count(*) FILTER (WHERE h.is_chain) AS chain
                FROM core.outlet_history h JOIN core.circle_member m ON m.community_code = h.community_code
                WHERE h.is_open AND h.valid_from <= :d AND (h.valid_to IS NULL OR h.valid_to > :d)
                  AND h.category_code IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""", {"d": month.end}),
    }
    return {k: read_frame(conn, sql, **params) for k, (sql, params) in q.items()}


def _target_lines(targets: pd.DataFrame, indicator: str, label: str, colour: str, scale: float = 1.0) -> list:
    t = targets[(targets["indicator"] == indicator) & targets["due_date"].notna()].sort_values("due_date")
    return [(f"{label}{float(r.target_value) / scale:.0%}（{r.due_date:%Y-%m}）", float(r.target_value) / scale, colour)
            for r in t.drop_duplicates("target_value", keep="last").itertuples()]


def _series(city_ind: pd.DataFrame, indicator: str, scale: float = 1.0) -> list:
    s = city_ind[city_ind["indicator"] == indicator]
    return [(r.period, None if _missing(r.value) else float(r.value) / scale) for r in s.itertuples()]


def _charts(d: dict) -> list[dict]:
    ci, targets = d["city_ind"], d["targets"]
    trajectory = line_chart(
        {INDICATOR_LABELS[k]: _series(ci, k) for k in ("communities_covered_share", "residents_covered_share")},
        _target_lines(targets, "communities_covered_share", "社区目标 ", "#c0392b")
        + _target_lines(targets, "residents_covered_share", "居民目标 ", "#d9822b"))
    quality = line_chart(
        {"居民综合满意度": _series(ci, "satisfaction_pct", 100.0), INDICATOR_LABELS["chain_share"]: _series(ci, "chain_share")},
        _target_lines(targets, "satisfaction_pct", "满意度目标 ", "#8e44ad", 100.0)
        + _target_lines(targets, "chain_share", "连锁目标 ", "#16a085"))
    return [{"id": "chart-coverage", "title": "覆盖率趋势（对照 30% / 70% / 100% 目标）", "svg": trajectory},
            {"id": "chart-quality", "title": "满意度与品牌连锁化趋势（全市）", "svg": quality}]


def _map(d: dict) -> tuple[str, int]:
    acc = d["access"]
    req = d["categories"][d["categories"]["required_for_coverage"]]["category_code"]
    present = acc[acc["category_code"].isin(req) & acc["present"]].groupby("community_code").size()
    circles_of = d["members"].sort_values("circle_code").groupby("community_code")["circle_code"].agg("、".join)
    present, circles_of = present.to_dict(), circles_of.to_dict()
    points = [{"code": code, "name": name, "lng": float(lng), "lat": float(lat), "present": int(present.get(code, 0)),
               "in_circle": code in circles_of, "circles": circles_of.get(code, ""), "population": int(pop)}
              for code, name, lng, lat, pop in d["communities"][["community_code", "name", "lng", "lat", "population"]]
              .itertuples(index=False, name=None)]
    return community_map(points, len(req), markers=_markers(d)), len(points)


def _markers(d: dict) -> list[dict]:
    """补什么 candidate sites as map markers: the circle's code, category and rank beside each."""
    names = dict(zip(d["circles"]["circle_code"], d["circles"]["name"]))
    return [{"lng": float(x.lng), "lat": float(x.lat), "label": f"{x.category_name}{x.rank}",
             "title": f"{names.get(x.circle_code, x.circle_code)}：补{x.category_name}候选点位{x.rank}，"
                      f"新增覆盖 {int(x.residents_newly_covered):,} 人" + _site_ref(x)}
            for x in d["sites"].itertuples()]


def _site_ref(x) -> str:
    node = "" if _missing(x.node_id) else f"路网节点 {int(x.node_id)}，"
    return f"（{node}{float(x.lng):.5f}, {float(x.lat):.5f}）" + METHOD_NOTES.get(x.method, "")


def _fills(d: dict) -> dict[str, list[dict]]:
    """Per circle, each category in mart.missing_category: communities lacking it, residents
    affected, what surveys asked for, and the candidate sites (补什么)."""
    miss, sites = d["missing"], d["sites"]
    by_site = {k: g for k, g in sites.groupby(["circle_code", "category_code"], sort=False)} if len(sites) else {}
    out: dict[str, list] = {}
    if miss.empty:
        return out
    for (circle, _order, code, name), g in miss[miss["circle_code"].notna()].groupby(
            ["circle_code", "annex5_order", "category_code", "category_name"], sort=True):
        cands = by_site.get((circle, code))
        demand = []
        if g["annex5_demand"].notna().any():
            demand.append(f"调查表：{g['annex5_demand'].dropna().iloc[0]}")
        if int(g["survey_mentions"].max()) > 0:
            demand.append(f"{int(g['survey_mentions'].max())} 名受访居民反映缺少")
        out.setdefault(circle, []).append({
            "category": name, "required": bool(g["required"].iloc[0]), "n": len(g),
            "residents": int(g["residents_affected"].sum()), "demand": "；".join(demand),
            "communities": "、".join(f"{c}（{n:,}人）" for c, n in zip(g["community_name"], g["residents_affected"])),
            "sites": [] if cands is None else [
                {"rank": int(x.rank), "new": int(x.residents_newly_covered), "cumulative": int(x.cumulative_residents),
                 "uncovered": int(x.residents_uncovered), "where": _site_ref(x)} for x in cands.itertuples()],
        })
    return out


def _cards(d: dict, month: Month) -> list[dict]:
    prog, members = d["prog"], d["members"]
    fills = _fills(d)
    names_by = members.groupby("circle_code", sort=False)["name"].agg("、".join).to_dict()
    ind_rows = {}
    for x in prog[prog["level"] == "circle"].itertuples():
        ind_rows.setdefault(x.unit_code, []).append(
            {"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator),
             "target": _fmt(x.target_value, x.indicator), "status": x.status, "status_label": STATUS_LABELS[x.status]})
    surveys = {r["circle_code"]: r for r in d["surveys"].to_dict("records")}
    sat = {r["circle_code"]: r for r in d["sat"].to_dict("records")}
    grades = {r["circle_code"]: r for r in d["typology"].to_dict("records")}
    cards = []
    for c in d["circles"].itertuples():
        fill = fills.get(c.circle_code, [])
        demand, survey_note = "未上报", ""
        if (s := surveys.get(c.circle_code)) is not None:
            demand = s["demand_list"] if isinstance(s["demand_list"], str) and s["demand_list"] else "未填写"
            if s["as_of"] < month.start:
                survey_note = f"（调查表截至 {s['as_of']}，非本期）"
        if (r := sat.get(c.circle_code)) is not None:
            satisfaction = (f"{float(r['satisfaction_pct']):.1f}%（样本 {int(r['responses'])}"
                            f"{'' if bool(r['sample_ok']) else '，不足50份'}）")
        else:
            satisfaction = "未上报"
        cards.append({
            "code": c.circle_code, "name": c.name, "communities": names_by.get(c.circle_code, ""),
            "missing": [f"{f['category']}（{f['n']}个社区）" for f in fill if f["required"]],
            "fill": [f for f in fill if f["required"]], "wished": [f for f in fill if not f["required"]],
            "demand": demand, "survey_note": survey_note, "satisfaction": satisfaction,
            "grade": (grades.get(c.circle_code) or {}).get("grade_label", "—"),
            "indicators": ind_rows.get(c.circle_code, []),
        })
    return cards


def _reason_text(reason: dict) -> str:
    cond, need, got = reason["condition"], reason["required"], reason["actual"]
    label = CONDITION_LABELS.get(cond, cond)
    if cond == "require_all_basic":
        return f"{label}（缺 {len(got['missing'])} 类）"
    if cond == "min_quality_categories":
        return f"{label} {got} 类，需 ≥{need} 类"
    if cond == "min_chain_share":
        return f"{label} {'无数据' if got is None else f'{float(got):.1%}'}，需 ≥{float(need):.0%}"
    if cond == "min_satisfaction_pct":
        if isinstance(got, dict):
            n = got.get("responses")
            return (f"{label}无有效样本（{'无' if n is None else n}份，需 ≥{got.get('min_responses')}份）")
        return f"{label} {float(got):.1f}%，需 ≥{float(need):.0f}%"
    if cond == "require_smart_platform":
        return f"{label}：{'未填报' if got is None else '无'}"
    return f"{label}：{got}"


def _typology_rows(d: dict) -> list[dict]:
    """Per circle: grade and, for each higher grade, why it was not reached."""
    names = dict(zip(d["circles"]["circle_code"], d["circles"]["name"]))
    rows = []
    for r in d["typology"].itertuples():
        reasons = r.reasons if isinstance(r.reasons, list) else json.loads(r.reasons)
        by_grade: dict[str, list] = {}
        for x in reasons:
            by_grade.setdefault(x.get("label", x["grade"]), []).append(_reason_text(x))
        rows.append({"code": r.circle_code, "name": names.get(r.circle_code, r.circle_code), "grade": r.grade_label,
                     "rank": int(r.grade_rank), "grade_code": r.grade_code,
                     "why": [f"未达{g}：" + "；".join(v) for g, v in by_grade.items()]})
    return rows


def _development_forms(d: dict) -> dict | None:
    """Shenzhen's check: share of pilot circles per development form, each >= 20 %."""
    city = d["ind"][(d["ind"]["level"] == "city") & d["ind"]["indicator"].str.startswith("development_form")]
    if city.empty:
        return None
    v = dict(zip(city["indicator"], city["value"]))
    n = dict(zip(city["indicator"], city["numerator"]))
    rows = [{"label": label, "share": _fmt(v.get(f"development_form_{code}_share"), "_share"),
             "circles": "—" if _missing(n.get(f"development_form_{code}_share")) else int(n[f"development_form_{code}_share"])}
            for code, label in DEVELOPMENT_FORM_LABELS.items()]
    met = v.get("development_forms_each_min_share_met")
    return {"rows": rows, "unreported": _fmt(v.get("development_form_unreported"), "count"),
            "met": None if _missing(met) else bool(met)}


def _pairs(d: dict) -> dict:
    """Zhanjiang's 一店一早 / 一菜一修 / 一老一小 shares at city, district and circle level."""
    try:
        pairs = load_pairs(pairs_path(refdata.load_city()))
    except (OSError, ValueError) as exc:
        log.warning("pairs file unavailable (%s): Zhanjiang view left out", exc)
        return {"columns": [], "keys": [], "rows": []}
    cols = [(f"{code}_share", label) for code, label in pairs.drop_duplicates("pair_code")[["pair_code", "label_zh"]]
            .itertuples(index=False)] + [("pairs_all_share", "三项齐全")]
    ind = d["ind"][d["ind"]["level"].isin(["city", "district", "circle"])]
    ind = ind[ind["indicator"].isin([c for c, _ in cols])]
    rows = []
    for (level, code), g in ind.groupby(["level", "unit_code"], sort=False):
        vals = dict(zip(g["indicator"], zip(g["value"], g["numerator"], g["denominator"])))
        cells = []
        for key, _ in cols:
            v, num, den = vals.get(key, (None, None, None))
            cells.append("无数据" if _missing(v) else f"{float(v):.1%}（{int(num)}/{int(den)}）")
        rows.append({"level": LEVEL_LABELS.get(level, level), "name": g["unit_name"].iloc[0], "cells": cells,
                     "order": ("city", "district", "circle").index(level)})
    rows.sort(key=lambda r: r["order"])
    return {"columns": [label for _, label in cols], "keys": [key for key, _ in cols], "rows": rows}


def _city_rows(d: dict, month: Month, hide: set = frozenset()) -> tuple[list, list]:
    """City indicators against targets, and the other city indicators (less ``hide``,
    those shown in their own sections)."""
    prog, ind = d["prog"], d["ind"]
    city_prog = prog[prog["level"] == "city"]
    rows = [{"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator),
             "target": _fmt(x.target_value, x.indicator),
             "due": "常设标准" if _missing(x.target_due) else f"{x.target_due:%Y-%m-%d}",
             "gap": _fmt_change(x.gap, x.indicator), "change": _fmt_change(x.change_since_last, x.indicator),
             "trend": _fmt_change(x.trend_per_month, x.indicator),
             "projected": _fmt(x.projected_value, x.indicator),
             "status": x.status, "status_label": STATUS_LABELS[x.status]} for x in city_prog.itertuples()]
    city = ind[ind["level"] == "city"]
    shown = city["indicator"].isin(city_prog["indicator"]) | city["indicator"].str.startswith(PLAN_SECTION_PREFIXES) \
        | city["indicator"].isin(hide)
    other = [{"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator)}
             for x in city[~shown].itertuples()]
    return rows, other


def _level_summary(prog: pd.DataFrame) -> list[dict]:
    out = []
    for (level, indicator), g in prog.groupby(["level", "indicator"], sort=True):
        counts = g["status"].value_counts()
        out.append({"level": LEVEL_LABELS.get(level, level), "indicator": INDICATOR_LABELS.get(indicator, indicator),
                    "units": len(g), **{s: int(counts.get(s, 0)) for s in STATUS_LABELS}})
    return out


def _tasks(d: dict) -> tuple[list, list]:
    rows = []
    for t in d["tasks"].itertuples():
        last = "未报送"
        if not _missing(t.last_reported_period):
            pct = "" if _missing(t.last_progress_pct) else f"，{float(t.last_progress_pct):.0f}%"
            last = (f"{t.last_reported_period} {t.last_reported_by}：{TASK_REPORT_STATUS.get(t.last_status, t.last_status)}"
                    f"{pct}" + (f"（{t.last_notes}）" if isinstance(t.last_notes, str) and t.last_notes else ""))
        rows.append({"id": t.task_id, "measure": t.measure, "lead": "、".join(t.lead_units), "deadline": t.deadline_raw or "",
                     "state": t.state, "label": TASK_STATE_LABELS.get(t.state, t.state), "last": last,
                     "not_reported": "、".join(t.lead_units_not_reported)})
    silent = [u.unit for u in d["units"].itertuples() if not u.reported]
    return rows, silent


def _circle_workbook_rows(d: dict, month: Month) -> list[dict]:
    cats = d["categories"]
    rep = {(r.circle_code, r.category_code): r for r in d["survey_cats"].itertuples()}
    loc = {(r.circle_code, r.category_code): int(r.n) for r in d["located"].itertuples()}
    reg = {(r.circle_code, r.category_code): (int(r.n), int(r.chain)) for r in d["registered"].itertuples()}
    acc = d["access"].merge(d["members"][["circle_code", "community_code", "population"]], on="community_code")
    agg = acc.groupby(["circle_code", "category_code"]).agg(
        present=("present", "sum"), within=("population_within", "sum"), pop=("population", "sum"))
    agg = {k: {"present": p, "within": w, "pop": n} for k, p, w, n in
           zip(agg.index, agg["present"], agg["within"], agg["pop"])}
    ind = d["ind"][d["ind"]["level"] == "circle"].set_index(["unit_code", "indicator"])["value"]
    surveys = {r["circle_code"]: r for r in d["surveys"].to_dict("records")}
    sat = {r["circle_code"]: r for r in d["sat"].to_dict("records")}
    members_by = {k: g for k, g in d["members"].groupby("circle_code", sort=False)}
    out = []
    for c in d["circles"].itertuples():
        rows = []
        for k in cats.itertuples():
            key = (c.circle_code, k.category_code)
            r = rep.get(key)
            a = agg.get(key)
            rows.append({
                "group": k.category_group, "name_zh": k.name_zh,
                "reported_outlets": None if r is None else r.outlets,
                "reported_employees_10k": None if r is None else r.employees_10k,
                "reported_chain_outlets": None if r is None else r.chain_outlets,
                "reported_satisfaction_pct": None if r is None else r.satisfaction_pct,
                "reported_demand": None if r is None else r.demand_list,
                "located_outlets": loc.get(key, 0), "registered_open": reg.get(key, (0, 0))[0],
                "registered_chain": reg.get(key, (0, 0))[1],
                "communities_present": None if a is None else int(a["present"]),
                "residents_within_share": None if a is None or not a["pop"] else round(float(a["within"]) / float(a["pop"]), 4),
            })
        s = sat.get(c.circle_code) or {}

        def v(indicator):
            return ind.get((c.circle_code, indicator))
        comms = members_by.get(c.circle_code)
        out.append({"code": c.circle_code, "name": c.name, "period": str(month),
                    "communities": "" if comms is None else "、".join(comms["name"]),
                    "survey": surveys.get(c.circle_code), "satisfaction_pct": s.get("satisfaction_pct"),
                    "responses": s.get("responses"), "communities_covered_share": v("communities_covered_share"),
                    "residents_covered_share": v("residents_covered_share"), "chain_share": v("chain_share"),
                    "rows": rows})
    return out


def render(period: str, out_dir: Path | None = None) -> dict:
    """Write ``<reports>/<period>/report.html`` and ``report.xlsx``; return their paths."""
    month = Month.parse(period)
    engine = get_engine()
    with engine.connect() as conn:
        d = _load(conn, month)
        fresh = freshness(conn, month)
        dq_partial, dq_summary = _dq_context(conn, month)
    charts = _charts(d)
    map_svg, n_points = _map(d)
    cards = _cards(d, month)
    pairs = _pairs(d)
    city_rows, other_city = _city_rows(d, month, hide=set(pairs["keys"]))
    task_rows, silent_units = _tasks(d)
    city_name = d["cities"]["name"].iloc[0] if len(d["cities"]) else ""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        city=city_name, period=str(month),
        due=date(month.shift(1).year, month.shift(1).month, 15).isoformat(),
        charts=charts, chart=charts[0]["svg"], map_svg=map_svg, map_points=n_points,
        city_rows=city_rows, other_city=other_city, levels=_level_summary(d["prog"]), status_labels=STATUS_LABELS,
        cards=cards, tasks=task_rows, silent_units=silent_units,
        overdue=sum(1 for t in task_rows if t["state"] == "overdue"),
        due_soon=sum(1 for t in task_rows if t["state"] == "due_soon"),
        fresh=fresh, not_fresh=[f for f in fresh if f["state"] != "fresh"],
        dq=d["dq"].to_dict("records"), quarantine=d["quarantine"].to_dict("records"),
        dq_partial=dq_partial, dq_summary=dq_summary,
        typology=_typology_rows(d), forms=_development_forms(d), pairs=pairs, facility_m2_note=FACILITY_M2_NOTE,
        n_sites=len(d["sites"]), approximate=bool(len(d["sites"])) and (d["sites"]["method"] == "approximate").any(),
    )
    out_dir = out_dir or settings.reports_dir() / str(month)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    fresh_df = pd.DataFrame([{k: f.get(k) for k in ("source", "label", "state", "text")} for f in fresh])
    access_cols = [c for c in d["access"].columns if c != "annex5_order"]
    tables = [
        ("指标", d["ind"]),
        ("进度", d["prog"]),
        ("社区业态", d["access"][access_cols]),
        ("任务", d["tasks"]),
        ("数据质量", d["dq"]),
        ("数据时效", fresh_df),
    ]
    xlsx = write_workbook(out_dir / "report.xlsx", month.end, tables, _circle_workbook_rows(d, month))
    return {"period": str(month), "report": str(path), "workbook": str(xlsx), "circles": len(cards),
            "tasks": len(task_rows), "stale_sources": [f["source"] for f in fresh if f["state"] != "fresh"]}
