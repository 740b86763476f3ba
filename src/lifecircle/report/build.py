"""Build the month's progress table and the self-contained HTML report."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lifecircle import settings
from lifecircle.period import Month
from lifecircle.report.charts import line_chart
from lifecircle.report.progress import STATUS_LABELS, compute_progress
from lifecircle.warehouse.bulk import replace_rows
from lifecircle.warehouse.engine import get_engine

SOURCES = ("registrations", "pois", "uploads")
INDICATOR_LABELS = {
    "communities_covered_share": "生活圈覆盖社区比例", "residents_covered_share": "覆盖居民比例",
    "satisfaction_pct": "居民综合满意度(%)", "chain_share": "品牌连锁店占比",
    "facility_area_share_pct": "商业和综合服务设施面积占比(%)",
    "facility_m2_per_100_households": "每百户社区服务设施面积(m²)",
    "registered_outlets": "登记在营网点数", "located_outlets": "地图网点数",
    "communities_in_built_circles_share": "已建生活圈包含社区比例", "missing_basic_categories": "缺少的基本保障类业态数",
}
LEVEL_LABELS = {"city": "全市", "district": "区", "circle": "生活圈", "community": "社区"}


def _read(conn, sql, **params) -> pd.DataFrame:
    return pd.read_sql(sa.text(sql), conn, params=params)


def progress(period: str) -> dict:
    """Compute and store mart.monthly_progress for ``period``."""
    month = Month.parse(period)
    engine = get_engine()
    with engine.connect() as conn:
        current = _read(conn, "SELECT * FROM mart.coverage_indicator WHERE period = :p", p=str(month))
        history = _read(conn, "SELECT period, level, unit_code, indicator, value FROM mart.coverage_indicator "
                              "WHERE period < :p", p=str(month))
        targets = _read(conn, "SELECT * FROM core.target")
    if current.empty:
        raise RuntimeError(f"no indicators for {month}: run the coverage DAG for this month first")
    table = compute_progress(str(month), month.end, current, history, targets)
    with engine.begin() as conn:
        replace_rows(conn, "mart.monthly_progress", table, "period = :p", {"p": str(month)})
    city = table[table["level"] == "city"]
    return {"period": str(month), "rows": len(table), "city_status": dict(zip(city["indicator"], city["status"]))}


def freshness(conn, month: Month) -> list[dict]:
    """Last successful load of each source up to the month; stale or missing is said so."""
    out = []
    for source in SOURCES:
        row = conn.execute(sa.text("""SELECT period, status, rows_received, rows_accepted, rows_quarantined, details
            FROM raw.load WHERE source = :s AND period <= :p ORDER BY period DESC LIMIT 1"""),
                           {"s": source, "p": str(month)}).mappings().first()
        if row is None:
            out.append({"source": source, "state": "missing", "text": "无数据：本期未加载"})
        elif row["period"] != str(month) or row["status"] != "succeeded":
            out.append({"source": source, "state": "stale", "text": f"数据陈旧：最近一次为 {row['period']}（{row['status']}）",
                        **dict(row)})
        else:
            out.append({"source": source, "state": "fresh", "text": "本期已加载", **dict(row)})
    return out


def _fmt(value, indicator: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if indicator.endswith("_share"):
        return f"{float(value):.1%}"
    if indicator.endswith("_pct"):
        return f"{float(value):.1f}%"
    return f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}"


def render(period: str, out_dir: Path | None = None) -> dict:
    """Write ``<reports>/<period>/report.html`` and return its path."""
    month = Month.parse(period)
    engine = get_engine()
    with engine.connect() as conn:
        prog = _read(conn, "SELECT * FROM mart.monthly_progress WHERE period = :p ORDER BY level, unit_code, indicator",
                     p=str(month))
        ind = _read(conn, "SELECT * FROM mart.coverage_indicator WHERE period <= :p", p=str(month))
        targets = _read(conn, "SELECT * FROM core.target ORDER BY indicator, due_date")
        circles = _read(conn, "SELECT * FROM core.circle ORDER BY circle_code")
        members = _read(conn, "SELECT m.*, c.name FROM core.circle_member m JOIN core.community c USING (community_code)")
        access = _read(conn, """SELECT a.community_code, a.category_code, k.name_zh, a.present FROM mart.community_category_access a
            JOIN core.category k USING (category_code) WHERE a.period = :p AND k.required_for_coverage""", p=str(month))
        surveys = _read(conn, "SELECT * FROM core.circle_survey WHERE period = :p", p=str(month))
        sat = _read(conn, "SELECT * FROM core.circle_satisfaction WHERE period = :p", p=str(month))
        tasks = _read(conn, "SELECT * FROM core.task ORDER BY annex, seq")
        dq = _read(conn, "SELECT * FROM mart.dq_results WHERE period = :p ORDER BY table_name, expectation", p=str(month))
        quarantine = _read(conn, "SELECT source, rows_received, rows_accepted, rows_quarantined, details FROM raw.load "
                                 "WHERE period = :p ORDER BY source", p=str(month))
        fresh = freshness(conn, month)
        cities = _read(conn, "SELECT name FROM core.division WHERE level = 'city'")
    city_ind = ind[ind["level"] == "city"]
    series = {INDICATOR_LABELS[k]: [(r.period, None if pd.isna(r.value) else float(r.value))
                                    for r in city_ind[city_ind["indicator"] == k].itertuples()]
              for k in ("communities_covered_share", "residents_covered_share")}
    cov_targets = targets[(targets["indicator"] == "communities_covered_share") & targets["due_date"].notna()]
    target_lines = [(f"目标 {float(t.target_value):.0%}（{t.due_date:%Y-%m}）", float(t.target_value), "#c0392b")
                    for t in cov_targets.drop_duplicates("target_value", keep="last").itertuples()]
    chart = line_chart(series, target_lines)

    cards = []
    for c in circles.itertuples():
        comms = members[members["circle_code"] == c.circle_code]
        acc = access[access["community_code"].isin(comms["community_code"])]
        missing = acc[~acc["present"]].groupby("name_zh").size().sort_values(ascending=False)
        s = surveys[surveys["circle_code"] == c.circle_code]
        r = sat[sat["circle_code"] == c.circle_code]
        row = prog[(prog["level"] == "circle") & (prog["unit_code"] == c.circle_code)]
        cards.append({
            "code": c.circle_code, "name": c.name, "communities": "、".join(comms["name"]),
            "missing": [f"{name}（{n}个社区）" for name, n in missing.items()],
            "demand": s["demand_list"].iloc[0] if len(s) and s["demand_list"].iloc[0] else "未上报",
            "satisfaction": (f"{float(r['satisfaction_pct'].iloc[0]):.1f}%（样本 {int(r['responses'].iloc[0])}"
                             f"{'' if bool(r['sample_ok'].iloc[0]) else '，不足50份'}）") if len(r) else "未上报",
            "indicators": [{"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator),
                            "target": _fmt(x.target_value, x.indicator), "status": x.status,
                            "status_label": STATUS_LABELS[x.status]} for x in row.itertuples()],
        })
    city_rows = [{"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator),
                  "target": _fmt(x.target_value, x.indicator),
                  "due": "" if x.target_due is None or pd.isna(x.target_due) else f"{x.target_due:%Y-%m-%d}",
                  "gap": _fmt(x.gap, x.indicator) if x.gap is not None and not pd.isna(x.gap) else "—",
                  "change": _fmt(x.change_since_last, x.indicator) if x.change_since_last is not None and not pd.isna(x.change_since_last) else "—",
                  "status": x.status, "status_label": STATUS_LABELS[x.status]}
                 for x in prog[prog["level"] == "city"].itertuples()]
    other_city = [{"label": INDICATOR_LABELS.get(x.indicator, x.indicator), "value": _fmt(x.value, x.indicator)}
                  for x in city_ind[(city_ind["period"] == str(month)) &
                                    ~city_ind["indicator"].isin(prog.loc[prog["level"] == "city", "indicator"])].itertuples()]
    soon = month.end + timedelta(days=30)
    task_rows = []
    for t in tasks.itertuples():
        if t.ongoing or t.deadline is None or pd.isna(t.deadline):
            state, label = "ongoing", "常态化推进"
        elif t.deadline < month.end:
            state, label = "overdue", "已逾期（未收到完成报告）"
        elif t.deadline <= soon:
            state, label = "due_soon", "30天内到期"
        else:
            state, label = "open", "推进中"
        task_rows.append({"id": t.task_id, "measure": t.measure, "lead": "、".join(t.lead_units),
                          "deadline": t.deadline_raw, "state": state, "label": label})
    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        city=cities["name"].iloc[0] if len(cities) else "", period=str(month),
        due=date(month.shift(1).year, month.shift(1).month, 15).isoformat(),
        chart=chart, city_rows=city_rows, other_city=other_city, cards=cards, tasks=task_rows,
        fresh=fresh, dq=dq.to_dict("records"), quarantine=quarantine.to_dict("records"),
        overdue=sum(1 for t in task_rows if t["state"] == "overdue"),
    )
    out_dir = out_dir or settings.reports_dir() / str(month)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return {"period": str(month), "report": str(path), "circles": len(cards), "tasks": len(task_rows)}
