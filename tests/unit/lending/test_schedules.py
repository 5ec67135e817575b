"""Repayment schedules: worked examples checked by hand, and invariants for every method."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.lending.daycount import DayCount
from puhui.lending.schedules import (
    LoanTerms,
    PrepaymentOption,
    RepaymentMethod,
    Schedule,
    build_schedule,
    prepay,
)
from puhui.money import Rate, parse_yuan

SIX_PERCENT = Rate.percent("6")
START = date(2024, 1, 15)


TEXTBOOK = LoanTerms(parse_yuan("100,000"), SIX_PERCENT, 12, START)


def _loan(method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALMENT, **overrides: Any) -> Schedule:
    return build_schedule(replace(TEXTBOOK, method=method, **overrides))


def test_equal_instalment_worked_example() -> None:
    # 100,000 yuan, 12 months, 6 %: r = 0.5 %, A = P r / (1 - 1.005^-12) = 8,606.6429 -> 8,606.64.
    schedule = _loan()
    assert schedule.level_amount == parse_yuan("8,606.64")
    first, second = schedule.instalments[:2]
    assert first.interest == parse_yuan("500.00")  # 100,000 x 0.5 %
    assert first.principal == parse_yuan("8,106.64")
    assert first.closing_balance == parse_yuan("91,893.36")
    assert second.interest == parse_yuan("459.47")  # 91,893.36 x 0.5 % = 459.4668
    assert second.principal == parse_yuan("8,147.17")
    assert [i.total for i in schedule.instalments[:11]] == [parse_yuan("8,606.64")] * 11
    # The last instalment absorbs the rounding residue of the level payment.
    assert schedule.instalments[-1].total == parse_yuan("8,606.69")
    assert schedule.total_interest == parse_yuan("3,279.73")  # 11 x 8,606.64 + 8,606.69 - 100,000
    assert [i.due_date for i in schedule.instalments[:2]] == [date(2024, 2, 15), date(2024, 3, 15)]
    assert schedule.maturity_date == date(2025, 1, 15)


def test_equal_principal_worked_example() -> None:
    schedule = _loan(RepaymentMethod.EQUAL_PRINCIPAL)
    assert schedule.level_amount == parse_yuan("8,333.33")  # 100,000 / 12, truncated
    assert schedule.instalments[0].total == parse_yuan("8,833.33")  # + 500.00 interest
    assert schedule.instalments[1].interest == parse_yuan("458.33")  # 91,666.67 x 0.5 %
    assert schedule.instalments[-1].principal == parse_yuan("8,333.37")  # 8,333.33 + 0.04
    assert schedule.instalments[-1].interest == parse_yuan("41.67")  # 8,333.37 x 0.5 %
    # Sum of interest on 100,000.00, 91,666.67, ..., 8,333.37 at 0.5 %, each rounded: 3,250.00.
    assert schedule.total_interest == parse_yuan("3,250.00")


def test_interest_only_pays_principal_at_maturity() -> None:
    schedule = _loan(RepaymentMethod.INTEREST_ONLY)
    assert [i.total for i in schedule.instalments[:11]] == [parse_yuan("500")] * 11
    assert schedule.instalments[-1].total == parse_yuan("100,500")
    assert schedule.total_interest == parse_yuan("6,000")


def test_bullet_pays_everything_once_at_maturity() -> None:
    schedule = _loan(RepaymentMethod.BULLET)
    (only,) = schedule.instalments
    assert only.due_date == date(2025, 1, 15)
    assert (only.principal, only.interest) == (parse_yuan("100,000"), parse_yuan("6,000"))
    # ACT/365 over 2024-01-15 .. 2025-01-15 counts the leap day: 366 days at 7.3 % = 7,320.00.
    act = _loan(RepaymentMethod.BULLET, rate=Rate.percent("7.3"), day_count=DayCount.ACT_365)
    assert act.instalments[0].interest == parse_yuan("7,320")


def test_month_end_start_keeps_due_dates_on_month_ends() -> None:
    schedule = _loan(
        start_date=date(2024, 1, 31), rate=Rate.percent("7.3"), day_count=DayCount.ACT_365
    )
    assert [i.due_date for i in schedule.instalments[:4]] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    # ACT/365 at 7.3 % is 20.00 yuan a day on 100,000: 29 days of February.
    assert schedule.instalments[0].interest == parse_yuan("580.00")


def test_repayment_day_other_than_start_day_makes_a_broken_first_period() -> None:
    schedule = _loan(repayment_day=20)
    first = schedule.instalments[0]
    assert first.due_date == date(2024, 2, 20)
    assert first.interest == parse_yuan("583.33")  # 1 month + 5 days = 35/360 of 6 %
    assert first.total == parse_yuan("8,606.64")  # the level payment stays level
    assert schedule.instalments[1].due_date == date(2024, 3, 20)


def test_instalment_fee_is_charged_with_every_instalment() -> None:
    schedule = _loan(instalment_fee=parse_yuan("10"))
    assert all(i.fees == 1_000 for i in schedule.instalments)
    assert schedule.total_fees == parse_yuan("120")
    assert schedule.instalments[0].total == parse_yuan("8,616.64")


def test_zero_rate_loan_repays_only_principal() -> None:
    schedule = _loan(rate=Rate(Decimal(0)))
    assert schedule.total_interest == 0
    assert schedule.level_amount == parse_yuan("8,333.33")
    assert schedule.instalments[-1].principal == parse_yuan("8,333.37")


@pytest.mark.parametrize(
    "overrides",
    [
        {"principal": 0},
        {"principal": 10.5},
        {"term_months": 0},
        {"repayment_day": 32},
        {"instalment_fee": -1},
    ],
)
def test_invalid_terms_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case names a different field
        _loan(**overrides)


# --- prepayment -----------------------------------------------------------------------------


def test_prepayment_on_a_due_date_reducing_the_instalment() -> None:
    schedule = _loan()
    # After three instalments: 91,893.36 -> 83,746.19 -> 75,558.28 (418.73 interest in #3).
    assert schedule.instalments[2].closing_balance == parse_yuan("75,558.28")
    result = prepay(
        schedule, date(2024, 4, 15), parse_yuan("30,000"), PrepaymentOption.REDUCE_INSTALMENT
    )
    assert result.accrued_interest == 0
    assert result.principal_repaid == parse_yuan("30,000")
    rest = result.schedule
    assert rest.principal == parse_yuan("45,558.28")
    assert [i.number for i in rest.instalments] == list(range(4, 13))
    # 45,558.28 x 0.005 / (1 - 1.005^-9) = 5,194.71...
    expected = Decimal("45558.28") * Decimal("0.005") / (1 - Decimal("1.005") ** -9)
    assert rest.level_amount == parse_yuan(expected.quantize(Decimal("0.01")))
    assert rest.maturity_date == schedule.maturity_date


def test_prepayment_shortening_the_term_keeps_the_instalment() -> None:
    schedule = _loan()
    result = prepay(
        schedule, date(2024, 4, 15), parse_yuan("30,000"), PrepaymentOption.SHORTEN_TERM
    )
    rest = result.schedule
    assert rest.level_amount == parse_yuan("8,606.64")
    # 45,558.28 at 8,606.64 a month needs 5 full instalments and a smaller sixth.
    assert len(rest.instalments) == 6
    assert [i.total for i in rest.instalments[:5]] == [parse_yuan("8,606.64")] * 5
    assert rest.instalments[-1].total < parse_yuan("8,606.64")
    assert rest.maturity_date == date(2024, 10, 15)  # instalments 4..9 instead of 4..12
    reduced = prepay(
        schedule, date(2024, 4, 15), parse_yuan("30,000"), PrepaymentOption.REDUCE_INSTALMENT
    )
    assert rest.total_interest < reduced.schedule.total_interest


def test_prepayment_between_due_dates_settles_accrued_interest_first() -> None:
    schedule = _loan()
    # 25 days since 15 April on 75,558.28 at 6 % / 360 = 314.826 -> 314.83.
    result = prepay(
        schedule, date(2024, 5, 10), parse_yuan("10,314.83"), PrepaymentOption.REDUCE_INSTALMENT
    )
    assert result.accrued_interest == parse_yuan("314.83")
    assert result.principal_repaid == parse_yuan("10,000")
    first = result.schedule.instalments[0]
    assert first.due_date == date(2024, 5, 15)
    assert first.interest == parse_yuan("54.63")  # 65,558.28 x 6 % x 5/360 = 54.6319
    assert result.schedule.principal == parse_yuan("65,558.28")


def test_prepayment_of_everything_settles_the_loan_and_returns_the_excess() -> None:
    schedule = _loan()
    owed = parse_yuan("75,558.28") + parse_yuan("314.83")
    assert schedule.payoff_amount(date(2024, 5, 10)) == owed
    result = prepay(schedule, date(2024, 5, 10), owed + 500, PrepaymentOption.REDUCE_INSTALMENT)
    assert result.settles_loan
    assert result.principal_repaid == parse_yuan("75,558.28")
    assert result.overpayment == 500
    assert result.schedule.maturity_date == date(2024, 5, 10)


def test_prepayment_that_does_not_cover_accrued_interest_is_refused() -> None:
    with pytest.raises(ValueError, match="accrued"):
        prepay(_loan(), date(2024, 5, 10), parse_yuan("314.83"), PrepaymentOption.SHORTEN_TERM)


def test_shortening_the_term_of_an_interest_only_loan_is_refused() -> None:
    schedule = _loan(RepaymentMethod.INTEREST_ONLY)
    with pytest.raises(ValueError, match="does not apply"):
        prepay(schedule, date(2024, 5, 10), parse_yuan("1,000"), PrepaymentOption.SHORTEN_TERM)


def test_prepayment_reduces_interest_only_instalments() -> None:
    schedule = _loan(RepaymentMethod.INTEREST_ONLY)
    result = prepay(
        schedule, date(2024, 4, 15), parse_yuan("50,000"), PrepaymentOption.REDUCE_INSTALMENT
    )
    assert [i.total for i in result.schedule.instalments[:-1]] == [parse_yuan("250")] * 8
    assert result.schedule.instalments[-1].principal == parse_yuan("50,000")


def test_prepayment_after_maturity_is_refused() -> None:
    with pytest.raises(ValueError, match="no instalment"):
        prepay(_loan(), date(2025, 1, 15), 100, PrepaymentOption.SHORTEN_TERM)


# --- invariants -----------------------------------------------------------------------------

rates = st.integers(0, 360_000).map(lambda ppm: Rate(Decimal(ppm) / 1_000_000))  # 0..36 %
loan_terms = st.builds(
    LoanTerms,
    principal=st.integers(1, 10**10),
    rate=rates,
    term_months=st.integers(1, 120),
    start_date=st.dates(date(2000, 1, 1), date(2060, 12, 31)),
    repayment_day=st.none() | st.integers(1, 31),
    day_count=st.sampled_from(DayCount),
    method=st.sampled_from(RepaymentMethod),
    instalment_fee=st.integers(0, 10_000),
)


def _assert_well_formed(schedule: Schedule) -> None:
    rows = schedule.instalments
    assert rows
    assert sum(i.principal for i in rows) == schedule.principal
    assert rows[0].opening_balance == schedule.principal
    assert rows[-1].closing_balance == 0
    previous_due = schedule.start_date
    for earlier, later in pairwise(rows):
        assert later.opening_balance == earlier.closing_balance
        assert later.number == earlier.number + 1
    for i in rows:
        assert min(i.principal, i.interest, i.fees, i.opening_balance, i.closing_balance) >= 0
        assert i.closing_balance == i.opening_balance - i.principal
        assert i.total == i.principal + i.interest + i.fees
        assert i.due_date > previous_due
        previous_due = i.due_date


@given(loan_terms)
def test_every_schedule_repays_exactly_the_principal(terms: LoanTerms) -> None:
    schedule = build_schedule(terms)
    _assert_well_formed(schedule)
    expected_count = 1 if terms.method is RepaymentMethod.BULLET else terms.term_months
    assert len(schedule.instalments) == expected_count


@given(loan_terms.filter(lambda t: t.method is RepaymentMethod.EQUAL_INSTALMENT))
def test_equal_instalments_stay_level_until_the_last(terms: LoanTerms) -> None:
    schedule = build_schedule(terms)
    for i in schedule.instalments[:-1]:
        # Level unless interest alone exceeds it (a long broken first period) or it is repaid.
        assert i.principal + i.interest == max(schedule.level_amount, i.interest) or (
            i.closing_balance == 0
        )


@settings(max_examples=200)
@given(
    loan_terms.filter(lambda t: t.method is not RepaymentMethod.BULLET and t.term_months > 1),
    st.data(),
)
def test_prepayment_keeps_principal_whole(terms: LoanTerms, data: st.DataObject) -> None:
    schedule = build_schedule(terms)
    due_dates = [i.due_date for i in schedule.instalments]
    on = data.draw(st.dates(terms.start_date, due_dates[-1]).filter(lambda d: d < due_dates[-1]))
    balance, _, remaining = schedule.outstanding_on(on)
    option = data.draw(st.sampled_from(PrepaymentOption))
    if option is PrepaymentOption.SHORTEN_TERM and terms.method is RepaymentMethod.INTEREST_ONLY:
        option = PrepaymentOption.REDUCE_INSTALMENT
    extra = data.draw(st.integers(1, balance + 1_000))
    result = prepay(schedule, on, extra + schedule.accrued_interest(on), option)
    assert result.principal_repaid + result.schedule.principal == balance
    assert result.principal_repaid + result.overpayment == extra
    assert result.overpayment == max(0, extra - balance)
    if result.settles_loan:
        assert result.schedule.principal == 0
    else:
        _assert_well_formed(result.schedule)
        assert result.schedule.instalments[0].number == remaining[0].number
        assert result.schedule.maturity_date <= schedule.maturity_date
        if option is PrepaymentOption.REDUCE_INSTALMENT:
            assert len(result.schedule.instalments) == len(remaining)
