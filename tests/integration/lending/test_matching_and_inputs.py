"""Product matching and the feature mapping, without the database (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from puhui.lending.matching import Need, match_products
from puhui.lending.schedules import RepaymentMethod
from puhui.lending.seed import sandbox_products
from puhui.risk.inputs import (
    admission_facts,
    repayment_capacity,
    scorecard_features,
    sources_of,
    stored_features,
)

SPECS = sandbox_products(("alpha", "beta"))


@given(
    amount=st.integers(min_value=1, max_value=5_000_000_00),
    term=st.none() | st.integers(min_value=1, max_value=36),
    method=st.none() | st.sampled_from(list(RepaymentMethod)),
    channel=st.sampled_from(["alpha", "gamma"]),
)
def test_every_match_can_lend_the_amount_through_the_channel(
    amount: int, term: int | None, method: RepaymentMethod | None, channel: str
) -> None:
    need = Need(amount_fen=amount, term_months=term, repayment_method=method, channel=channel)
    matches = match_products(SPECS, need)
    by_code = {spec.code: spec for spec in SPECS}
    for match in matches:
        spec = by_code[match.code]
        assert spec.min_amount_fen <= amount <= spec.max_amount_fen
        assert channel in spec.partner_channels
    assert [m.fit for m in matches] == sorted((m.fit for m in matches), reverse=True)
    if channel == "gamma":
        assert matches == []


def test_the_stated_scenario_wins_a_tie() -> None:
    need = Need(amount_fen=200_000_00, term_months=6, scenario="payroll")
    assert match_products(SPECS, need)[0].code == "PAYROLL-LOAN"


def test_store_features_become_model_inputs_facts_and_capacity() -> None:
    now = datetime(2025, 6, 30, tzinfo=UTC)
    stored = stored_features(
        {
            "tax.credit_grade": "B",
            "tax.declared_revenue_12m_fen": 1_200_000_00,
            "tax.arrears_outstanding_fen": 5_000_00,
            "payroll.gross_pay_12m_fen": 300_000_00,
            "procurement.award_value_12m_fen": 12_345_600,
            "utilities.arrears_count": None,
            "tax.revenue_trend_12m": Decimal("0.10"),
        },
        {"tax": timedelta(days=3), "payroll": 86_400},
        now,
    )
    assert stored.as_of_by_source == {
        "tax": now - timedelta(days=3),
        "payroll": now - timedelta(days=1),
    }
    assert sources_of(stored) == {"tax", "payroll", "procurement"}
    inputs = scorecard_features(stored)
    assert inputs["tax_credit_grade"] == "B"
    assert inputs["tax_revenue_trend"] == 0.10
    assert inputs["procurement_award_value"] == 123_456.0  # the model was trained in yuan
    assert inputs["utility_arrears_count"] is None  # missing stays missing (its own bin)
    facts = admission_facts(stored, applicant_is_legal_rep=False)
    assert facts.tax_arrears_fen == 5_000_00
    assert facts.applicant_is_legal_rep is False
    capacity = repayment_capacity(stored)
    assert (capacity.tax_revenue_12m_fen, capacity.payroll_12m_fen) == (1_200_000_00, 300_000_00)
