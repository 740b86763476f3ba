"""Monthly progress: the target in force, status, change and gap."""
from datetime import date

import pandas as pd
import pytest

from lifecircle.report.progress import STATUS_LABELS, compute_progress, status_of, target_in_force

TARGETS = pd.DataFrame([
    ("communities_covered_share", "city", 0.3, "share", date(2023, 11, 30), ">="),
    ("communities_covered_share", "city", 0.3, "share", date(2023, 12, 31), ">="),
    ("residents_covered_share", "city", 0.5, "share", date(2023, 12, 31), ">="),
    ("communities_covered_share", "city", 1.0, "share", date(2025, 12, 31), ">="),
    ("communities_covered_share", "city", 0.7, "share", date(2024, 12, 31), ">="),
    ("satisfaction_pct", "circle", 90.0, "pct", date(2025, 12, 31), ">="),
    ("facility_area_share_pct", "circle", 10.0, "pct", None, ">="),
], columns=["indicator", "level", "target_value", "unit", "due_date", "comparator"])


def _force(period_end):
    f = target_in_force(TARGETS, period_end)
    return {(r.indicator, r.level): (r.target_value, r.due_date) for r in f.itertuples()}


def test_target_in_force_one_row_per_indicator_and_level():
    f = target_in_force(TARGETS, date(2024, 5, 31))
    assert list(zip(f["indicator"], f["level"])) == [
        ("communities_covered_share", "city"), ("facility_area_share_pct", "circle"),
        ("residents_covered_share", "city"), ("satisfaction_pct", "circle")]
    assert list(f.index) == [0, 1, 2, 3]


@pytest.mark.parametrize("period_end, expected", [
    (date(2023, 10, 31), (0.3, date(2023, 11, 30))),
    (date(2023, 11, 30), (0.3, date(2023, 11, 30))),    # due on the period end is still "in force"
    (date(2023, 12, 31), (0.3, date(2023, 12, 31))),
    (date(2024, 1, 31), (0.7, date(2024, 12, 31))),
    (date(2024, 12, 31), (0.7, date(2024, 12, 31))),
    (date(2025, 1, 31), (1.0, date(2025, 12, 31))),
    (date(2026, 3, 31), (1.0, date(2025, 12, 31))),     # all past: the last one
])
def test_target_in_force_next_due(period_end, expected):
    assert _force(period_end)[("communities_covered_share", "city")] == expected


def test_target_in_force_all_past_takes_last():
    assert _force(date(2024, 5, 31))[("residents_covered_share", "city")] == (0.5, date(2023, 12, 31))


def test_target_in_force_standing_rule():
    for end in (date(2020, 1, 31), date(2024, 5, 31), date(2030, 12, 31)):
        target, due = _force(end)[("facility_area_share_pct", "circle")]
        assert target == 10.0
        assert due is None or pd.isna(due)


# ------------------------------------------------------------------ status_of
END = date(2024, 5, 31)


@pytest.mark.parametrize("value, target, due, slope, status", [
    (None, 0.7, date(2024, 12, 31), 0.1, "no_data"),
    (float("nan"), 0.7, date(2024, 12, 31), 0.1, "no_data"),
    (0.7, 0.7, date(2024, 12, 31), None, "met"),
    (0.9, 0.7, date(2023, 12, 31), None, "met"),          # met even when the due date is past
    (0.69, 0.7, date(2024, 5, 30), 1.0, "missed"),
    (0.29, 0.3, date(2023, 12, 31), None, "missed"),
    (0.5, 0.7, date(2024, 12, 31), 0.03, "on_track"),     # 0.5 + 7 x 0.03 = 0.71
    (0.5, 0.7, date(2024, 12, 31), 0.02, "at_risk"),      # 0.5 + 7 x 0.02 = 0.64
    (0.5, 0.7, date(2024, 12, 31), None, "at_risk"),      # no trend yet
    (0.5, 0.7, date(2024, 12, 31), float("nan"), "at_risk"),
    (0.5, 0.7, None, 0.5, "at_risk"),                     # standing rule, not met
    (0.5, 0.7, date(2024, 5, 31), 0.5, "at_risk"),        # due today, not met yet, not missed
    (0.5, 0.75, date(2024, 7, 31), 0.125, "on_track"),    # 0.5 + 2 x 0.125 reaches it exactly
    (0.5, 0.75, date(2024, 7, 31), 0.124, "at_risk"),
])
def test_status_of(value, target, due, slope, status):
    assert status_of(value, target, due, END, slope) == status


def test_status_labels_cover_every_status():
    assert set(STATUS_LABELS) == {"met", "on_track", "at_risk", "missed", "no_data"}


# ------------------------------------------------------------------ compute_progress
INDICATORS = pd.DataFrame([
    ("2024-05", "city", "620500", "communities_covered_share", 0.5),
    ("2024-05", "city", "620500", "residents_covered_share", 0.45),
    ("2024-05", "city", "620500", "chain_share", 0.33),               # no target: not tracked
    ("2024-05", "circle", "Q1", "satisfaction_pct", 91.67),
    ("2024-05", "circle", "Q2", "satisfaction_pct", None),
    ("2024-05", "circle", "Q1", "facility_area_share_pct", 8.0),
    ("2024-05", "district", "620502", "communities_covered_share", 0.9),  # no district target
], columns=["period", "level", "unit_code", "indicator", "value"])

HISTORY = pd.DataFrame([
    ("2024-03", "city", "620500", "communities_covered_share", 0.38),
    ("2024-01", "city", "620500", "communities_covered_share", 0.30),
    ("2024-04", "city", "620500", "communities_covered_share", 0.44),
    ("2024-02", "city", "620500", "communities_covered_share", 0.35),
    ("2024-06", "city", "620500", "communities_covered_share", 0.99),   # later month: ignored
    ("2024-05", "city", "620500", "communities_covered_share", 0.10),   # this month: ignored
    ("2024-04", "circle", "Q1", "satisfaction_pct", 88.0),
    ("2024-04", "circle", "Q2", "satisfaction_pct", 80.0),
    ("2024-04", "city", "620500", "residents_covered_share", None),
], columns=["period", "level", "unit_code", "indicator", "value"])


@pytest.fixture(scope="module")
def progress():
    out = compute_progress("2024-05", END, INDICATORS, HISTORY, TARGETS)
    return {(r.indicator, r.unit_code): r._asdict() for r in out.itertuples(index=False)}, out


def test_progress_rows_and_columns(progress):
    rows, out = progress
    assert list(out.columns) == ["period", "level", "unit_code", "indicator", "value", "target_value",
                                 "target_due", "gap", "change_since_last", "status", "trend_per_month",
                                 "months_to_due", "projected_value"]
    assert sorted(rows) == [("communities_covered_share", "620500"), ("facility_area_share_pct", "Q1"),
                            ("residents_covered_share", "620500"), ("satisfaction_pct", "Q1"),
                            ("satisfaction_pct", "Q2")]
    assert set(out["period"]) == {"2024-05"}


def test_progress_on_track_with_change_and_gap(progress):
    r = progress[0][("communities_covered_share", "620500")]
    assert r["value"] == 0.5
    assert r["target_value"] == 0.7
    assert r["target_due"] == date(2024, 12, 31)
    assert r["gap"] == -0.2
    assert r["change_since_last"] == 0.06          # vs 2024-04, not 2024-06 or this month's history row
    # slope over the last 3 months = (0.5 - 0.35) / 3 = 0.05; 0.5 + 7 x 0.05 = 0.85 >= 0.7
    assert r["status"] == "on_track"
    assert r["trend_per_month"] == pytest.approx(0.05)
    assert r["months_to_due"] == 7
    assert r["projected_value"] == pytest.approx(0.85)


def test_progress_missed_past_target(progress):
    r = progress[0][("residents_covered_share", "620500")]
    assert (r["value"], r["target_value"], r["target_due"]) == (0.45, 0.5, date(2023, 12, 31))
    assert r["gap"] == -0.05
    assert r["change_since_last"] is None or pd.isna(r["change_since_last"])   # last value unknown
    assert r["status"] == "missed"


def test_progress_met_and_no_data(progress):
    q1 = progress[0][("satisfaction_pct", "Q1")]
    assert (q1["value"], q1["target_value"], q1["gap"], q1["change_since_last"], q1["status"]) == \
        (91.67, 90.0, 1.67, 3.67, "met")
    q2 = progress[0][("satisfaction_pct", "Q2")]
    assert q2["value"] is None or pd.isna(q2["value"])
    assert q2["gap"] is None or pd.isna(q2["gap"])
    assert q2["change_since_last"] is None or pd.isna(q2["change_since_last"])
    assert q2["status"] == "no_data"


def test_progress_standing_rule(progress):
    r = progress[0][("facility_area_share_pct", "Q1")]
    assert (r["value"], r["target_value"], r["gap"]) == (8.0, 10.0, -2.0)
    assert r["target_due"] is None or pd.isna(r["target_due"])
    assert r["change_since_last"] is None or pd.isna(r["change_since_last"])
    assert r["status"] == "at_risk"


def test_progress_empty_inputs():
    out = compute_progress("2024-05", END, INDICATORS.iloc[0:0], HISTORY.iloc[0:0], TARGETS)
    assert len(out) == 0
    assert "status" in out.columns


# ------------------------------------------------------------------ whole calendar months, trend, projection
from lifecircle.report.progress import _months_between, projected, trend  # noqa: E402


@pytest.mark.parametrize("a, b, months", [
    (date(2024, 5, 31), date(2024, 12, 31), 7),
    (date(2024, 1, 31), date(2024, 2, 29), 1),     # month end to month end: 1, not 0.97
    (date(2024, 2, 29), date(2024, 3, 31), 1),     # not 1.03
    (date(2023, 12, 31), date(2024, 1, 31), 1),    # across the year end
    (date(2024, 5, 31), date(2024, 5, 31), 0),
    (date(2024, 5, 31), date(2023, 12, 31), -5),
    (date(2023, 11, 30), date(2025, 12, 31), 25),
])
def test_months_between_counts_whole_calendar_months(a, b, months):
    assert _months_between(a, b) == months


def test_status_uses_whole_months_at_month_ends():
    # Jan end -> Feb end is one month: 0.6 + 1 x 0.1 reaches 0.7 exactly (0.97 months would not)
    assert status_of(0.6, 0.7, date(2024, 2, 29), date(2024, 1, 31), 0.1) == "on_track"


@pytest.mark.parametrize("past, expected", [
    ([], None),
    ([("2024-04", None)], None),
    ([("2024-04", 0.4)], 0.1),
    ([("2024-02", 0.2), ("2024-03", 0.3), ("2024-04", 0.4)], 0.1),
    ([("2023-12", 0.0), ("2024-02", 0.2), ("2024-03", 0.3), ("2024-04", 0.4)], 0.1),  # only the last three
    ([("2024-01", 0.2), ("2024-04", None)], 0.075),   # a gap counts as months: (0.5 - 0.2) / 4
    ([("2023-11", 0.2), ("2023-12", 0.35)], 0.05),    # across the year end: (0.5 - 0.2) / 6
    ([("2024-05", 0.1)], None),                       # this month is not history
])
def test_trend_per_calendar_month(past, expected):
    got = trend("2024-05", 0.5, past)
    assert got == (None if expected is None else pytest.approx(expected))


def test_projected_value():
    assert projected(0.5, date(2024, 12, 31), END, 0.05) == pytest.approx(0.85)
    assert projected(0.5, None, END, 0.05) is None
    assert projected(0.5, date(2024, 12, 31), END, None) is None
    assert projected(None, date(2024, 12, 31), END, 0.05) is None
    assert projected(0.5, date(2023, 12, 31), END, 0.05) == 0.5   # past due: no extrapolation backwards


def test_progress_standing_rule_has_no_projection(progress):
    r = progress[0][("facility_area_share_pct", "Q1")]
    assert r["months_to_due"] is None or pd.isna(r["months_to_due"])
    assert r["projected_value"] is None or pd.isna(r["projected_value"])
