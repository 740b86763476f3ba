"""Reporting periods: Month arithmetic, the Shanghai reporting month, and run-period precedence."""
from datetime import date, datetime, timedelta, timezone

import pytest

from lifecircle.period import Month, reporting_month, resolve_month

SHANGHAI = timezone(timedelta(hours=8))


# ------------------------------------------------------------------ Month.parse
@pytest.mark.parametrize("text, expected", [
    ("2024-05", Month(2024, 5)),
    ("2023-12", Month(2023, 12)),
    ("2024-01", Month(2024, 1)),
    ("  2024-05\n", Month(2024, 5)),
    ("2024-5", Month(2024, 5)),
])
def test_parse_good(text, expected):
    assert Month.parse(text) == expected


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024", "2024-05-01", "May 2024", "", "2024/05",
                                  "abcd-ef", "2024-"])
def test_parse_bad_gives_clear_error(text):
    with pytest.raises(ValueError) as exc:
        Month.parse(text)
    assert str(exc.value) == f"month must look like 2024-05, got {text!r}"


def test_str_round_trips_with_zero_padding():
    assert str(Month(2024, 5)) == "2024-05"
    assert str(Month.parse("2024-5")) == "2024-05"
    assert Month.parse(str(Month(987, 11))) == Month(987, 11)


def test_months_order_chronologically():
    assert Month(2023, 12) < Month(2024, 1) < Month(2024, 2)
    assert max([Month(2024, 2), Month(2023, 12), Month(2024, 1)]) == Month(2024, 2)


# ------------------------------------------------------------------ start / end
def test_start_and_end_leap_february():
    m = Month(2024, 2)
    assert m.start == date(2024, 2, 1)
    assert m.end == date(2024, 2, 29)


def test_end_non_leap_february_and_century_rule():
    assert Month(2023, 2).end == date(2023, 2, 28)
    assert Month(1900, 2).end == date(1900, 2, 28)
    assert Month(2000, 2).end == date(2000, 2, 29)


def test_start_and_end_december():
    m = Month(2023, 12)
    assert m.start == date(2023, 12, 1)
    assert m.end == date(2023, 12, 31)


def test_end_thirty_day_month():
    assert Month(2024, 4).end == date(2024, 4, 30)


# ------------------------------------------------------------------ shift
@pytest.mark.parametrize("month, n, expected", [
    (Month(2024, 1), -1, Month(2023, 12)),
    (Month(2023, 12), 1, Month(2024, 1)),
    (Month(2024, 5), 0, Month(2024, 5)),
    (Month(2024, 5), 12, Month(2025, 5)),
    (Month(2024, 5), -17, Month(2022, 12)),
    (Month(2024, 11), 14, Month(2026, 1)),
    (Month(2024, 3), -3, Month(2023, 12)),
    (Month(2024, 3), -2, Month(2024, 1)),
])
def test_shift(month, n, expected):
    assert month.shift(n) == expected


# ------------------------------------------------------------------ reporting_month
def test_reporting_month_january_reports_december():
    assert reporting_month(datetime(2024, 1, 15, 9, 0, tzinfo=SHANGHAI)) == Month(2023, 12)


def test_reporting_month_mid_year():
    assert reporting_month(datetime(2024, 6, 15, 9, 0, tzinfo=SHANGHAI)) == Month(2024, 5)


def test_reporting_month_uses_shanghai_date_not_utc_date():
    # 2024-05-31 18:00 UTC is 2024-06-01 02:00 in Shanghai: the local month is June,
    # so the report covers May (a UTC reading would say April).
    utc_evening = datetime(2024, 5, 31, 18, 0, tzinfo=timezone.utc)
    assert reporting_month(utc_evening) == Month(2024, 5)
    # Same idea across the year end.
    assert reporting_month(datetime(2023, 12, 31, 16, 30, tzinfo=timezone.utc)) == Month(2023, 12)
    # One minute before Shanghai midnight it is still the 31st there.
    assert reporting_month(datetime(2023, 12, 31, 15, 59, tzinfo=timezone.utc)) == Month(2023, 11)


def test_reporting_month_naive_datetime_is_an_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        reporting_month(datetime(2024, 1, 15, 9, 0))


# ------------------------------------------------------------------ resolve_month
RUN_DATE = datetime(2024, 7, 15, 1, 0, tzinfo=SHANGHAI)       # -> 2024-06
RUN_AFTER = datetime(2024, 3, 15, 1, 0, tzinfo=SHANGHAI)      # -> 2024-02


def test_resolve_param_wins_over_everything():
    assert resolve_month("2022-09", RUN_DATE, ["2024-01", "2024-02"], RUN_AFTER) == Month(2022, 9)


def test_resolve_asset_periods_take_the_latest():
    assert resolve_month(None, RUN_DATE, ["2024-01", "2024-03", "2023-12"], RUN_AFTER) == Month(2024, 3)
    # comparison is by month, not by string ("2024-10" > "2024-9" numerically)
    assert resolve_month(None, None, ["2024-9", "2024-10"]) == Month(2024, 10)


def test_resolve_empty_param_falls_through():
    assert resolve_month("", None, ["2024-01"]) == Month(2024, 1)


def test_resolve_logical_date_before_run_after():
    assert resolve_month(None, RUN_DATE, [], RUN_AFTER) == Month(2024, 6)
    assert resolve_month(None, RUN_DATE, None, None) == Month(2024, 6)


def test_resolve_run_after_when_no_logical_date():
    assert resolve_month(None, None, [], RUN_AFTER) == Month(2024, 2)


def test_resolve_nothing_is_an_error():
    with pytest.raises(ValueError, match="cannot tell the period"):
        resolve_month(None, None, [], None)


def test_resolve_bad_param_is_an_error():
    with pytest.raises(ValueError, match="month must look like 2024-05"):
        resolve_month("2024-13", RUN_DATE)
