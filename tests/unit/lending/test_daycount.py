"""Day counts and month arithmetic, including month-end due dates."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending.daycount import (
    DayCount,
    accrual_days,
    add_months,
    interest,
    monthly_dates,
    whole_months_between,
)
from puhui.money import Rate


@pytest.mark.parametrize(
    ("start", "months", "anchor", "expected"),
    [
        (date(2024, 1, 31), 1, None, date(2024, 2, 29)),  # leap year
        (date(2023, 1, 31), 1, None, date(2023, 2, 28)),
        (date(2024, 1, 31), 2, None, date(2024, 3, 31)),  # back to the 31st, not the 29th
        (date(2024, 1, 31), 3, None, date(2024, 4, 30)),
        (date(2024, 11, 15), 2, None, date(2025, 1, 15)),  # across the year end
        (date(2024, 1, 5), 1, 20, date(2024, 2, 20)),
        (date(2024, 3, 31), -1, None, date(2024, 2, 29)),
    ],
)
def test_add_months_clamps_to_month_end(
    start: date, months: int, anchor: int | None, expected: date
) -> None:
    assert add_months(start, months, anchor) == expected


def test_whole_months_use_the_month_end_rule() -> None:
    assert whole_months_between(date(2024, 1, 31), date(2024, 2, 29)) == (1, 0)
    assert whole_months_between(date(2024, 2, 29), date(2024, 3, 31)) == (1, 0)
    assert whole_months_between(date(2024, 1, 15), date(2024, 2, 20)) == (1, 5)
    assert whole_months_between(date(2024, 1, 15), date(2024, 1, 25)) == (0, 10)


def test_thirty_360_counts_whole_months_as_thirty_days() -> None:
    assert accrual_days(date(2024, 1, 31), date(2024, 2, 29), DayCount.THIRTY_360) == 30
    assert accrual_days(date(2024, 1, 15), date(2024, 2, 20), DayCount.THIRTY_360) == 35
    assert accrual_days(date(2024, 1, 15), date(2025, 1, 15), DayCount.THIRTY_360) == 360
    assert accrual_days(date(2024, 1, 31), date(2024, 2, 29), DayCount.ACT_365) == 29


def _on_100k(percent: str, start: date, end: date, day_count: DayCount) -> int:
    return interest(10_000_000, Rate.percent(percent), start, end, day_count)


def test_interest_worked_examples() -> None:
    # 7.3 % / 365 is 0.02 % a day: 20.00 yuan a day on 100,000 yuan, 29 days.
    assert _on_100k("7.3", date(2024, 1, 31), date(2024, 2, 29), DayCount.ACT_365) == 58_000
    # 7.2 % / 360 is 0.02 % a day as well: 10 days.
    assert _on_100k("7.2", date(2024, 1, 1), date(2024, 1, 11), DayCount.ACT_360) == 20_000
    # One month at 6 % under 30/360 is 0.5 %: 500.00 yuan, whatever the month's length.
    assert _on_100k("6", date(2024, 2, 1), date(2024, 3, 1), DayCount.THIRTY_360) == 50_000
    # 35 days at 6 % / 360 = 583.333... -> 583.33 yuan.
    assert _on_100k("6", date(2024, 1, 15), date(2024, 2, 20), DayCount.THIRTY_360) == 58_333


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError, match="precedes"):
        accrual_days(date(2024, 2, 1), date(2024, 1, 1), DayCount.ACT_365)


@given(
    st.dates(date(2000, 1, 1), date(2060, 12, 31)),
    st.integers(0, 4000),
)
def test_thirty_360_days_never_stray_far_from_actual_days(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    months, odd = whole_months_between(start, end)
    assert 0 <= odd <= 30
    # Each whole month is 28..31 actual days, so 30/360 days differ by at most 2 a month.
    assert abs(accrual_days(start, end, DayCount.THIRTY_360) - span) <= 2 * months + 3


@given(
    st.dates(date(1990, 1, 1), date(2090, 12, 31)),
    st.integers(0, 400),
    st.none() | st.integers(1, 31),
)
def test_monthly_dates_agree_with_add_months(start: date, count: int, anchor: int | None) -> None:
    expected = tuple(add_months(start, k, anchor) for k in range(1, count + 1))
    assert monthly_dates(start, count, anchor) == expected
