"""APR by the IRR method: worked examples, and the APR reproducing a zero NPV."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending.apr import (
    APR_PLACES,
    Annualisation,
    AprNotFound,
    CashFlow,
    annual_percentage_rate,
    borrower_cash_flows,
    credit_cost,
    net_present_value,
)
from puhui.lending.daycount import DayCount
from puhui.lending.schedules import LoanTerms, RepaymentMethod, build_schedule
from puhui.money import Rate, parse_yuan

NOMINAL = Annualisation.NOMINAL_MONTHLY
EFFECTIVE = Annualisation.EFFECTIVE_ACT_365


def _textbook_loan() -> LoanTerms:
    return LoanTerms(parse_yuan("100,000"), Rate.percent("6"), 12, date(2024, 1, 15))


def test_a_loan_without_fees_costs_its_contract_rate() -> None:
    cost = credit_cost(build_schedule(_textbook_loan()))
    assert cost.apr == Decimal("6.0000")
    assert cost.amount_received == parse_yuan("100,000")
    assert cost.total_cost == parse_yuan("3,279.73")  # the interest, nothing else


def test_an_upfront_fee_raises_the_apr_and_the_cost() -> None:
    # Borrower gets 98,500 and pays 11 x 8,606.64 + 8,606.69; RATE(...) x 12 = 8.83957 %,
    # checked with a 50-digit Decimal bisection.
    cost = credit_cost(build_schedule(_textbook_loan()), upfront_fee=parse_yuan("1,500"))
    assert cost.apr == Decimal("8.8396")
    assert cost.amount_received == parse_yuan("98,500")
    assert cost.total_cost == parse_yuan("4,779.73")


def test_effective_annualisation_compounds_monthly_interest() -> None:
    # (1.005)^12 - 1 = 6.1678 %; real month lengths (29..31 days) move it slightly.
    cost = credit_cost(build_schedule(_textbook_loan()), annualisation=EFFECTIVE)
    assert Decimal("6.10") < cost.apr < Decimal("6.25")


def test_single_payment_after_a_year() -> None:
    flows = [CashFlow(date(2025, 1, 1), 1_000_000), CashFlow(date(2026, 1, 1), -1_060_000)]
    assert annual_percentage_rate(flows, EFFECTIVE) == Decimal("6.0000")
    # 12 x (1.06^(1/12) - 1) = 5.84106 %
    assert annual_percentage_rate(flows, NOMINAL) == Decimal("5.8411")


def test_flows_need_money_both_ways() -> None:
    with pytest.raises(AprNotFound):
        annual_percentage_rate([CashFlow(date(2025, 1, 1), 100), CashFlow(date(2025, 2, 1), 5)])
    with pytest.raises(AprNotFound):
        annual_percentage_rate([])


def test_upfront_fee_cannot_swallow_the_loan() -> None:
    schedule = build_schedule(_textbook_loan())
    with pytest.raises(ValueError, match="upfront fee"):
        borrower_cash_flows(schedule, upfront_fee=schedule.principal)


loans = st.builds(
    LoanTerms,
    principal=st.integers(100_000, 10**10),
    rate=st.integers(0, 360_000).map(lambda ppm: Rate(Decimal(ppm) / 1_000_000)),
    term_months=st.integers(1, 60),
    start_date=st.dates(date(2000, 1, 1), date(2060, 12, 31)),
    repayment_day=st.none() | st.integers(1, 31),
    day_count=st.sampled_from(DayCount),
    method=st.sampled_from(RepaymentMethod),
    instalment_fee=st.integers(0, 5_000),
)


@given(loans, st.integers(0, 300), st.sampled_from(Annualisation))
def test_the_apr_discounts_the_flows_to_zero(
    terms: LoanTerms, fee_permille: int, annualisation: Annualisation
) -> None:
    schedule = build_schedule(terms)
    flows = borrower_cash_flows(schedule, upfront_fee=terms.principal * fee_permille // 1000)
    apr = annual_percentage_rate(flows, annualisation)
    # The stated APR is within half a unit of its last place of the root, so one unit either
    # side brackets a change of sign in the NPV (up to float noise, which only matters for
    # days-long loans whose effective APR runs to trillions of percent).
    noise = 1e-9 * sum(abs(f.amount) for f in flows)
    below = net_present_value(flows, apr - APR_PLACES, annualisation)
    above = net_present_value(flows, apr + APR_PLACES, annualisation)
    assert below <= noise
    assert above >= -noise
    assert abs(net_present_value(flows, apr, annualisation)) <= max(above - below, noise)
