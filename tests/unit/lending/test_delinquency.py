"""Days past due, collection buckets, penalty interest and five-category classification."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.lending.allocation import Receivable
from puhui.lending.daycount import DayCount
from puhui.lending.delinquency import (
    DEFAULT_RULES,
    ClassificationRules,
    DelinquencyBucket,
    DpdBand,
    LoanClass,
    PenaltyRate,
    RiskFlag,
    classify,
    days_past_due,
    delinquency_bucket,
)
from puhui.money import Rate, parse_yuan

MARCH = Receivable(2, date(2024, 3, 15), principal=800_000, interest=45_000, fees=0, penalty=0)
APRIL = Receivable(3, date(2024, 4, 15), principal=810_000, interest=40_000, fees=0, penalty=0)


def test_days_past_due_count_from_the_oldest_unpaid_instalment() -> None:
    assert days_past_due([APRIL, MARCH], date(2024, 4, 20)) == 36  # since 15 March
    assert days_past_due([APRIL, MARCH], date(2024, 3, 15)) == 0  # due today: not late
    assert days_past_due([APRIL, MARCH], date(2024, 3, 16)) == 1
    paid_march = MARCH._replace(principal=0, interest=0)
    assert days_past_due([APRIL, paid_march], date(2024, 4, 20)) == 5
    assert days_past_due([], date(2024, 4, 20)) == 0


def test_a_tolerance_ignores_trifling_arrears() -> None:
    crumbs = MARCH._replace(principal=0, interest=3)
    assert days_past_due([crumbs], date(2024, 4, 20)) == 36
    assert days_past_due([crumbs], date(2024, 4, 20), tolerance=100) == 0


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, DelinquencyBucket.M0),
        (1, DelinquencyBucket.M1),
        (30, DelinquencyBucket.M1),
        (31, DelinquencyBucket.M2),
        (60, DelinquencyBucket.M2),
        (61, DelinquencyBucket.M3),
        (150, DelinquencyBucket.M5),
        (151, DelinquencyBucket.M6_PLUS),
        (2_000, DelinquencyBucket.M6_PLUS),
    ],
)
def test_buckets_step_every_thirty_days(dpd: int, bucket: DelinquencyBucket) -> None:
    assert delinquency_bucket(dpd) is bucket


@pytest.mark.parametrize(
    ("dpd", "loan_class"),
    [
        (0, LoanClass.NORMAL),
        (1, LoanClass.SPECIAL_MENTION),
        (90, LoanClass.SPECIAL_MENTION),
        (91, LoanClass.SUBSTANDARD),
        (180, LoanClass.SUBSTANDARD),
        (181, LoanClass.DOUBTFUL),
        (360, LoanClass.DOUBTFUL),
        (361, LoanClass.LOSS),
    ],
)
def test_default_classification_by_days_past_due(dpd: int, loan_class: LoanClass) -> None:
    assert classify(dpd).loan_class is loan_class


def test_a_restructured_loan_is_at_least_substandard() -> None:
    current = classify(0, {RiskFlag.RESTRUCTURED})
    assert current.loan_class is LoanClass.SUBSTANDARD
    assert current.loan_class.non_performing
    assert any("restructured" in reason for reason in current.reasons)
    # The floor never improves a worse class.
    assert classify(200, {RiskFlag.RESTRUCTURED}).loan_class is LoanClass.DOUBTFUL
    assert not classify(30).loan_class.non_performing


def test_rules_load_from_a_table() -> None:
    rules = ClassificationRules.from_table(
        {
            "bands": [
                {"from": 0, "to": 0, "class": "normal"},
                {"from": 1, "to": 60, "class": "special_mention"},
                {"from": 61, "to": 90, "class": "substandard"},
                {"from": 91, "to": 270, "class": "doubtful"},
                {"from": 271, "to": None, "class": "loss"},
            ],
            "floors": [{"flag": "borrower_in_bankruptcy", "at_least": "doubtful"}],
        }
    )
    assert classify(75, rules=rules).loan_class is LoanClass.SUBSTANDARD
    assert classify(271, rules=rules).loan_class is LoanClass.LOSS
    assert classify(0, {"borrower_in_bankruptcy"}, rules).loan_class is LoanClass.DOUBTFUL
    assert classify(0, {RiskFlag.RESTRUCTURED}, rules).loan_class is LoanClass.NORMAL


@pytest.mark.parametrize(
    "bands",
    [
        (DpdBand(1, None, LoanClass.NORMAL),),  # does not start at 0
        (DpdBand(0, 0, LoanClass.NORMAL), DpdBand(2, None, LoanClass.LOSS)),  # gap
        (DpdBand(0, 5, LoanClass.NORMAL), DpdBand(3, None, LoanClass.LOSS)),  # overlap
        (DpdBand(0, 0, LoanClass.NORMAL), DpdBand(1, 9, LoanClass.LOSS)),  # closed end
        (),
    ],
)
def test_malformed_rule_tables_are_refused(bands: tuple[DpdBand, ...]) -> None:
    with pytest.raises(ValueError, match="DPD band"):
        ClassificationRules(bands)


@given(st.integers(0, 5_000), st.integers(0, 5_000))
def test_classification_never_improves_as_arrears_grow(dpd: int, more: int) -> None:
    assert classify(dpd).loan_class.severity <= classify(dpd + more).loan_class.severity
    assert DEFAULT_RULES.band_for(dpd).min_dpd <= dpd


def test_penalty_interest_worked_example() -> None:
    penalty = PenaltyRate(markup=Decimal("0.5"))  # 6 % + 50 % = 9 % a year
    contract = Rate.percent("6")
    assert penalty.annual_rate(contract).annual == Decimal("0.09")
    # 10,000 yuan overdue for 10 days at 9 % / 360: 25.00 yuan.
    due = date(2024, 3, 15)
    overdue = parse_yuan("10,000")
    assert penalty.accrued(overdue, contract, due, due + timedelta(days=10)) == parse_yuan("25")
    assert penalty.for_day(overdue, contract, due, due + timedelta(days=3)) == parse_yuan("2.50")
    assert penalty.accrued(overdue, contract, due, due) == 0
    act365 = PenaltyRate(markup=Decimal("1"), day_count=DayCount.ACT_365)
    # 7.3 % doubled is 14.6 %: 0.04 % a day, 4.00 yuan a day on 10,000 yuan.
    assert act365.accrued(overdue, Rate.percent("7.3"), due, due + timedelta(days=5)) == 2_000


@given(
    st.integers(0, 10**9),
    st.integers(0, 240_000).map(lambda ppm: Rate(Decimal(ppm) / 1_000_000)),
    st.integers(0, 400),
)
def test_daily_penalty_postings_add_up_to_the_span(overdue: int, contract: Rate, days: int) -> None:
    penalty = PenaltyRate()
    due = date(2024, 3, 15)
    daily = [penalty.for_day(overdue, contract, due, due + timedelta(days=d)) for d in range(days)]
    assert all(amount >= 0 for amount in daily)
    assert sum(daily) == penalty.accrued(overdue, contract, due, due + timedelta(days=days))
