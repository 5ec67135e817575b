"""Day-count conventions and month arithmetic: how many days of interest a period earns.

``THIRTY_360`` is the PBoC convention for RMB loans: a whole month is 1/12 of the annual rate
(月利率 = 年利率 / 12) and each odd day 1/360 of it (日利率 = 年利率 / 360). ``ACT_365`` and
``ACT_360`` count calendar days against a 365- or 360-day year.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from puhui.money import Rate, div_round_half_up

__all__ = [
    "DayCount",
    "accrual_days",
    "add_months",
    "days_in_month",
    "interest",
    "is_month_end",
    "monthly_dates",
    "whole_months_between",
]

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class DayCount(StrEnum):
    """How a period's interest is measured: accrual days over a year of ``year_days``."""

    THIRTY_360 = "30/360"
    ACT_365 = "ACT/365"
    ACT_360 = "ACT/360"

    @property
    def year_days(self) -> int:
        """Days in the year the accrual days are divided by."""
        return 365 if self is DayCount.ACT_365 else 360


def days_in_month(year: int, month: int) -> int:
    """Length of ``month`` in ``year`` (Gregorian); a table, as calendar.monthrange is slow."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def is_month_end(day: date) -> bool:
    """Whether ``day`` is the last day of its month."""
    return day.day == days_in_month(day.year, day.month)


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """The date ``months`` calendar months after ``start`` on ``anchor_day`` (default its day).

    The day is clamped to the month's end, so 31 January plus one month is 28 or 29 February
    and, with anchor day 31, plus two months is 31 March again.
    """
    day = start.day if anchor_day is None else anchor_day
    if not 1 <= day <= 31:
        raise ValueError(f"anchor day must be 1..31, not {day}")
    month_index = start.year * 12 + start.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    last = days_in_month(year, month)
    return date(year, month, day if day <= last else last)


def monthly_dates(start: date, count: int, anchor_day: int | None = None) -> tuple[date, ...]:
    """The dates 1, 2, ..., ``count`` months after ``start``, as ``add_months`` gives them."""
    day = start.day if anchor_day is None else anchor_day
    if not 1 <= day <= 31:
        raise ValueError(f"anchor day must be 1..31, not {day}")
    year, month = start.year, start.month
    dates: list[date] = []
    for _ in range(count):
        if month == 12:
            year, month = year + 1, 1
        else:
            month += 1
        last = days_in_month(year, month) if day > 28 else 31
        dates.append(date(year, month, day if day <= last else last))
    return tuple(dates)


def whole_months_between(start: date, end: date) -> tuple[int, int]:
    """Whole calendar months from ``start`` to ``end`` and the odd days left over.

    A start on a month's last day counts months to later month-ends (28 Feb -> 31 Mar is one
    month), the usual end-of-month rule.
    """
    if end < start:
        raise ValueError("end precedes start")
    anchor = 31 if is_month_end(start) else start.day
    months = (end.year - start.year) * 12 + end.month - start.month
    stepped = add_months(start, months, anchor)
    if stepped > end:
        months -= 1
        stepped = add_months(start, months, anchor)
    return months, (end - stepped).days


def accrual_days(start: date, end: date, day_count: DayCount) -> int:
    """Days of interest from ``start`` (inclusive) to ``end`` (exclusive) under ``day_count``."""
    if end < start:
        raise ValueError("end precedes start")
    if day_count is DayCount.THIRTY_360:
        months, odd_days = whole_months_between(start, end)
        return 30 * months + odd_days
    return (end - start).days


def interest(principal: int, rate: Rate, start: date, end: date, day_count: DayCount) -> int:
    """Simple interest in fen on ``principal`` fen from ``start`` to ``end``, ROUND_HALF_UP."""
    days = accrual_days(start, end, day_count)
    return div_round_half_up(
        principal * rate.numerator * days, rate.denominator * day_count.year_days
    )
