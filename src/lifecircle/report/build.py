"""Build the month's progress table, the self-contained HTML report and the workbook."""
from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lifecircle import settings
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
}
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
    return community_map(points, len(req)), len(points)


def _cards(d: dict, month: Month) -> list[dict]:
    prog, acc, members = d["prog"], d["access"], d["members"]
    req = set(d["categories"].loc[d["categories"]["required_for_coverage"], "category_code"])
    gaps = acc[acc["category_code"].isin(req) & ~acc["present"]].merge(
        members[["circle_code", "community_code", "population"]], on="community_code")
    gaps = gaps.assign(lacking=(gaps["population"] - gaps["population_within"]).clip(lower=0).astype(int))
    fills: dict[str, list] = {}
    for (circle, _order, code, name), g in gaps.groupby(["circle_code", "annex5_order", "category_code", "category_name"],
                                                         sort=True) if len(gaps) else []:
        fills.setdefault(circle, []).append({
            "category": name, "n": len(g), "residents": int(g["lacking"].sum()),
            "communities": "、".join(f"{c}（{n:,}人）" for c, n in zip(g["community_name"], g["lacking"]))})
    names_by = members.groupby("circle_code", sort=False)["name"].agg("、".join).to_dict()
    ind_rows = {}
    for x in prog[prog["level"] == "circle"].itertuples():
        ind_rows.setdefault(x.unit_code, []).append(
            {"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator),
             "target": _fmt(x.target_value, x.indicator), "status": x.status, "status_label": STATUS_LABELS[x.status]})
    surveys = {r["circle_code"]: r for r in d["surveys"].to_dict("records")}
    sat = {r["circle_code"]: r for r in d["sat"].to_dict("records")}
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
            "missing": [f"{f['category']}（{f['n']}个社区）" for f in fill], "fill": fill,
            "demand": demand, "survey_note": survey_note, "satisfaction": satisfaction,
            "indicators": ind_rows.get(c.circle_code, []),
        })
    return cards


def _city_rows(d: dict, month: Month) -> tuple[list, list]:
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
    other = [{"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator)}
             for x in city[~city["indicator"].isin(city_prog["indicator"])].itertuples()]
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
    city_rows, other_city = _city_rows(d, month)
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
