"""Early-warning rules fire on changes for the worse, once per change."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from puhui.servicing.early_warning import DEFAULT_WARNING_RULES, evaluate

BASE = {
    "tax.declared_revenue_12m_fen": 1_000_000,
    "tax.revenue_trend_12m": 0.05,
    "tax.credit_grade": "B",
    "tax.arrears_count_24m": 0,
    "utilities.arrears_count": 1,
    "payroll.headcount": 20,
    "procurement.award_count_12m": 8,
    "risk.blacklist_hit": False,
    "risk.admin_penalty_count_12m": 0,
}


def fired(previous: dict[str, object], current: dict[str, object]) -> set[str]:
    return {r.code for r in evaluate(DEFAULT_WARNING_RULES, previous, current)}  # type: ignore[arg-type]


def test_nothing_fires_when_nothing_changed() -> None:
    assert fired(BASE, BASE) == set()


def test_each_deterioration_fires_its_rule() -> None:
    cases: dict[str, dict[str, object]] = {
        "revenue_drop": {"tax.declared_revenue_12m_fen": 690_000},
        "revenue_trend_negative": {"tax.revenue_trend_12m": -0.25},
        "tax_grade_downgrade": {"tax.credit_grade": "M"},
        "new_tax_arrears": {"tax.arrears_count_24m": 1},
        "new_utility_arrears": {"utilities.arrears_count": 2},
        "headcount_drop": {"payroll.headcount": 14},
        "payer_loss": {"procurement.award_count_12m": 4},
        "blacklist_hit": {"risk.blacklist_hit": True},
        "penalty_hit": {"risk.admin_penalty_count_12m": 1},
    }
    for rule, change in cases.items():
        assert fired(BASE, {**BASE, **change}) == {rule}, rule


def test_improvements_and_missing_data_fire_nothing() -> None:
    better = {
        **BASE,
        "tax.credit_grade": "A",
        "payroll.headcount": 30,
        "utilities.arrears_count": 0,
    }
    assert fired(BASE, better) == set()
    assert fired(BASE, {k: None for k in BASE}) == set()
    assert fired({}, {**BASE, "tax.credit_grade": "D"}) == set()  # no baseline, no "change"


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_revenue_drop_fires_exactly_at_thirty_percent(before: int, after: int) -> None:
    previous = {**BASE, "tax.declared_revenue_12m_fen": before}
    current = {**BASE, "tax.declared_revenue_12m_fen": after}
    assert ("revenue_drop" in fired(previous, current)) == ((before - after) / before >= 0.3)
