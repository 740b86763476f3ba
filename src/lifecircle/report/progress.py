"""mart.monthly_progress: each tracked indicator against the target in force."""
from __future__ import annotations

from datetime import date

import pandas as pd

STATUS_LABELS = {"met": "已达标", "on_track": "进度正常", "at_risk": "存在风险", "missed": "未达标", "no_data": "无数据"}


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


def _months_between(a: date, b: date) -> float:
    return (b.year - a.year) * 12 + (b.month - a.month) + (b.day - a.day) / 30.0


def status_of(value, target, due, period_end: date, slope_per_month) -> str:
    if value is None or pd.isna(value):
        return "no_data"
    if value >= target:
        return "met"
    if due is not None and not pd.isna(due) and due < period_end:
        return "missed"
    if due is None or pd.isna(due) or slope_per_month is None or pd.isna(slope_per_month):
        return "at_risk"
    projected = value + slope_per_month * _months_between(period_end, due)
    return "on_track" if projected >= target else "at_risk"


def compute_progress(period: str, period_end: date, indicators: pd.DataFrame, history: pd.DataFrame,
                     targets: pd.DataFrame) -> pd.DataFrame:
    """``indicators``: this month's mart.coverage_indicator rows; ``history``: the same for
    earlier months (period, level, unit_code, indicator, value); ``targets``: core.target."""
    force = target_in_force(targets, period_end)
    hist = history.sort_values("period")
    rows = []
    for t in force.itertuples():
        current = indicators[(indicators["indicator"] == t.indicator) & (indicators["level"] == t.level)]
        for r in current.itertuples():
            past = hist[(hist["indicator"] == t.indicator) & (hist["level"] == t.level) &
                        (hist["unit_code"] == r.unit_code) & (hist["period"] < period)]
            prev = past["value"].iloc[-1] if len(past) else None
            value = None if r.value is None or pd.isna(r.value) else float(r.value)
            change = None if value is None or prev is None or pd.isna(prev) else round(value - float(prev), 4)
            recent = past.tail(3)["value"].dropna().astype(float).tolist()
            slope = None
            if value is not None and recent:
                slope = (value - recent[0]) / len(recent)
            target = float(t.target_value)
            rows.append({
                "period": period, "level": t.level, "unit_code": r.unit_code, "indicator": t.indicator,
                "value": value, "target_value": target,
                "target_due": None if pd.isna(t.due_date) else t.due_date,
                "gap": None if value is None else round(value - target, 4),
                "change_since_last": change,
                "status": status_of(value, target, None if pd.isna(t.due_date) else t.due_date, period_end, slope),
            })
    return pd.DataFrame(rows, columns=["period", "level", "unit_code", "indicator", "value", "target_value",
                                       "target_due", "gap", "change_since_last", "status"])
