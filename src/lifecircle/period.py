"""Reporting periods. A run's period comes from the run, never from the clock."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

REPORT_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """'2024-05' → Month(2024, 5); anything else is a clear error."""
        try:
            y, m = text.strip().split("-")
            month = cls(int(y), int(m))
        except ValueError:
            raise ValueError(f"month must look like 2024-05, got {text!r}") from None
        if not 1 <= month.month <= 12:
            raise ValueError(f"month must look like 2024-05, got {text!r}")
        return month

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shift(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def reporting_month(logical_date: datetime, tz: ZoneInfo = REPORT_TZ) -> Month:
    """The calendar month before the run's date in Asia/Shanghai (the report on the 15th
    covers the previous month; across year ends January reports December)."""
    if logical_date.tzinfo is None:
        raise ValueError("logical_date must be timezone-aware")
    local = logical_date.astimezone(tz)
    return Month(local.year, local.month).shift(-1)


def resolve_month(requested: str | None, logical_date: datetime | None,
                  asset_periods: list[str] | None = None, run_after: datetime | None = None) -> Month:
    """The period of a DAG run: an explicit ``month`` param wins, then the period carried by
    the triggering asset events (asset-triggered runs have no logical date), then the
    month before the run's logical date (or run_after)."""
    if requested:
        return Month.parse(requested)
    if asset_periods:
        return max(Month.parse(p) for p in asset_periods)
    when = logical_date or run_after
    if when is None:
        raise ValueError("cannot tell the period: no month param, asset event or run date")
    return reporting_month(when)
