"""mart.monthly_progress: each tracked indicator against the target in force.

Pure functions (no database): the status rules, the target in force, the trend and the
projection to the target date."""
from __future__ import annotations

from datetime import date

import pandas as pd

STATUS_LABELS = {"met": "已达标", "on_track": "进度正常", "at_risk": "存在风险", "missed": "未达标", "no_data": "无数据"}
PROGRESS_COLUMNS = ["period", "level", "unit_code", "indicator", "value", "target_value", "target_due", "gap",
                    "change_since_last", "status", "trend_per_month", "months_to_due", "projected_value"]
TREND_MONTHS = 3  # the trend is taken over up to this many earlier months with a value


def target_in_force(targets: pd.DataFrame, period_end: date) -> pd.DataFrame:
    """Per (indicator, level): the next target due on/after ``period_end``; when all are
    past, the last one; standing rules (no due date) always apply."""
    rows = []
    for (ind, level), g in targets.groupby(["indicator", "level"], sort=True):
        dated = g[g["due_date"].notna()].sort_values("due_date")
        upcoming = dated[dated["due_date"] >= period_end]
        if len(upcoming):
            pick = upcoming.iloc[0]
        elif len(dated):
            pick = dated.iloc[-1]
        else:
            pick = g.iloc[0]
        rows.append(pick)
    return pd.DataFrame(rows).reset_index(drop=True)


def _months_between(a: date, b: date) -> int:
    """Whole calendar months from ``a`` to ``b`` (month ends: 2024-05-31 -> 2024-12-31 is 7,
    2024-01-31 -> 2024-02-29 is 1); negative when ``b`` is earlier."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def _period_index(period: str) -> int:
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def _missing(x) -> bool:
    return x is None or (not isinstance(x, str) and pd.isna(x))


def projected(value, due, period_end: date, slope_per_month) -> float | None:
    """Where the trend leads by the due date: value + slope x whole months to ``due``."""
    if _missing(value) or _missing(due) or _missing(slope_per_month):
        return None
    return float(value) + float(slope_per_month) * max(_months_between(period_end, due), 0)


def status_of(value, target, due, period_end: date, slope_per_month) -> str:
    if _missing(value):
        return "no_data"
    if value >= target:
        return "met"
    if not _missing(due) and due < period_end:
        return "missed"
    proj = projected(value, due, period_end, slope_per_month)
    if proj is None:
        return "at_risk"
    return "on_track" if proj >= target - 1e-12 else "at_risk"


def trend(period: str, value, past: list[tuple[str, float | None]]) -> float | None:
    """Change per calendar month from the earliest of the last ``TREND_MONTHS`` earlier
    months with a value to this month (gaps in the history are counted as months)."""
    if _missing(value):
        return None
    known = [(p, v) for p, v in past if p < period and not _missing(v)][-TREND_MONTHS:]
    if not known:
        return None
    p0, v0 = known[0]
    months = _period_index(period) - _period_index(p0)
    return (float(value) - float(v0)) / months if months > 0 else None


def compute_progress(period: str, period_end: date, indicators: pd.DataFrame, history: pd.DataFrame,
                     targets: pd.DataFrame) -> pd.DataFrame:
    """``indicators``: this month's mart.coverage_indicator rows; ``history``: the same for
    earlier months (period, level, unit_code, indicator, value); ``targets``: core.target."""
    force = target_in_force(targets, period_end) if len(targets) else targets
    hist = history[history["period"] < period].sort_values("period", kind="stable")
    by_key: dict[tuple, list] = {}
    for p, lv, u, ind, v in hist[["period", "level", "unit_code", "indicator", "value"]].itertuples(index=False):
        by_key.setdefault((lv, u, ind), []).append((p, v))
    rows = []
    for t in force.itertuples():
        current = indicators[(indicators["indicator"] == t.indicator) & (indicators["level"] == t.level)]
        due = None if _missing(t.due_date) else t.due_date
        target = float(t.target_value)
        for r in current.sort_values("unit_code").itertuples():
            past = by_key.get((t.level, r.unit_code, t.indicator), [])
            prev = past[-1][1] if past else None
            value = None if _missing(r.value) else float(r.value)
            change = None if value is None or _missing(prev) else round(value - float(prev), 4)
            slope = trend(period, value, past)
            proj = projected(value, due, period_end, slope)
            rows.append({
                "period": period, "level": t.level, "unit_code": r.unit_code, "indicator": t.indicator,
                "value": value, "target_value": target, "target_due": due,
                "gap": None if value is None else round(value - target, 4),
                "change_since_last": change,
                "status": status_of(value, target, due, period_end, slope),
                "trend_per_month": None if slope is None else round(slope, 6),
                "months_to_due": None if due is None else _months_between(period_end, due),
                "projected_value": None if proj is None else round(proj, 4),
            })
    out = pd.DataFrame(rows, columns=PROGRESS_COLUMNS)
    out["months_to_due"] = out["months_to_due"].astype("Int64")
    return out
