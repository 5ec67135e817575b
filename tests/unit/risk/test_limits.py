"""The limit model's arithmetic and the customer umbrella limit's state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.risk.limits import (
    ROUNDING_UNIT_FEN,
    CreditLimit,
    ExposureBasis,
    InvalidAmountError,
    LimitEventKind,
    LimitPolicy,
    LimitState,
    LimitStateError,
    Mitigation,
    MitigationKind,
    OverCreditingError,
    ProductBounds,
    ReleaseCause,
    ReleaseExceedsExposureError,
    RepaymentCapacity,
    UnknownGradeError,
    UnknownProductError,
    assess_limit,
)

BOUNDS = ProductBounds(min_amount_fen=1_000_000, max_amount_fen=100_000_000, tenor_months=12)
RATE = Decimal("0.0435")
CAPACITY = RepaymentCapacity(
    tax_revenue_12m_fen=600_000_000,  # 6,000,000 yuan declared
    payroll_12m_fen=48_000_000,  # 480,000 yuan payroll
    procurement_receivables_fen=120_000_000,  # 1,200,000 yuan confirmed receivables
    existing_debt_service_monthly_fen=500_000,  # 5,000 yuan a month on other loans
)


def test_worked_example_from_cash_flow_to_limit() -> None:
    result = assess_limit(
        CAPACITY, grade="B", annual_rate=RATE, bounds=BOUNDS, policy=LimitPolicy()
    )
    # inflow = (6,000,000 × 0.7 + 1,200,000 × 0.8) / 12 = 430,000 yuan a month
    assert result.monthly_inflow_fen == 43_000_000
    # surplus = 430,000 × 25% − 40,000 payroll = 67,500 yuan
    assert result.monthly_surplus_fen == 6_750_000
    # payment capacity = 67,500 × 50% − 5,000 existing = 28,750 yuan
    assert result.monthly_payment_capacity_fen == 2_875_000
    # 12 level payments at 4.35%/12: factor 11.721968 → 337,006.58 yuan
    assert result.annuity_factor == Decimal("11.721968")
    assert result.capacity_principal_fen == 33_700_658
    # grade B × 1.00, rounded down to whole thousands of yuan: 337,000
    assert result.limit_fen == 33_700_000
    assert result.reason_codes == ()


def test_government_procurement_assignment_raises_the_limit() -> None:
    assigned = RepaymentCapacity(
        tax_revenue_12m_fen=CAPACITY.tax_revenue_12m_fen,
        payroll_12m_fen=CAPACITY.payroll_12m_fen,
        procurement_receivables_fen=CAPACITY.procurement_receivables_fen,
        existing_debt_service_monthly_fen=CAPACITY.existing_debt_service_monthly_fen,
        mitigations=(
            Mitigation(kind=MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT, value_fen=50_000_000),
        ),
    )
    result = assess_limit(
        assigned, grade="B", annual_rate=RATE, bounds=BOUNDS, policy=LimitPolicy()
    )
    assert result.mitigation_fen == 30_000_000  # 500,000 yuan contract × 60% advance
    assert result.limit_fen == 63_700_000


@pytest.mark.parametrize(
    ("grade", "expected_fen"),
    [("A", 40_400_000), ("B", 33_700_000), ("C", 26_900_000), ("D", 16_800_000), ("E", 0)],
)
def test_grade_multiplier_scales_the_limit(grade: str, expected_fen: int) -> None:
    result = assess_limit(
        CAPACITY, grade=grade, annual_rate=RATE, bounds=BOUNDS, policy=LimitPolicy()
    )
    assert result.limit_fen == expected_fen


def test_unknown_grade_is_refused() -> None:
    with pytest.raises(UnknownGradeError, match="'Z'"):
        assess_limit(CAPACITY, grade="Z", annual_rate=RATE, bounds=BOUNDS, policy=LimitPolicy())


def test_caps_apply_in_order_and_are_reported() -> None:
    small = ProductBounds(min_amount_fen=1_000_000, max_amount_fen=20_000_000, tenor_months=12)
    capped = assess_limit(CAPACITY, grade="B", annual_rate=RATE, bounds=small, policy=LimitPolicy())
    assert capped.limit_fen == 20_000_000
    assert capped.reason_codes == ("LIMIT_CAPPED_BY_PRODUCT_MAX",)
    asked = assess_limit(
        CAPACITY,
        grade="B",
        annual_rate=RATE,
        bounds=BOUNDS,
        policy=LimitPolicy(),
        requested_fen=12_345_678,
    )
    assert asked.limit_fen == 12_300_000
    assert asked.reason_codes == ("LIMIT_CAPPED_BY_REQUEST",)
    tight = LimitPolicy(revenue_cap_ratio=Decimal("0.05"))
    by_revenue = assess_limit(CAPACITY, grade="A", annual_rate=RATE, bounds=BOUNDS, policy=tight)
    assert by_revenue.limit_fen == 30_000_000  # 5% of 6,000,000 yuan
    assert by_revenue.reason_codes == ("LIMIT_CAPPED_BY_REVENUE",)


def test_limit_below_product_minimum_becomes_zero() -> None:
    thin = RepaymentCapacity(tax_revenue_12m_fen=60_000_000, payroll_12m_fen=24_000_000)
    result = assess_limit(thin, grade="A", annual_rate=RATE, bounds=BOUNDS, policy=LimitPolicy())
    assert result.monthly_payment_capacity_fen == 0  # payroll eats the whole margin
    assert result.limit_fen == 0
    assert result.reason_codes == ("LIMIT_BELOW_PRODUCT_MIN",)


def test_zero_rate_annuity_is_the_number_of_months() -> None:
    result = assess_limit(
        CAPACITY, grade="B", annual_rate=Decimal(0), bounds=BOUNDS, policy=LimitPolicy()
    )
    assert result.annuity_factor == 12
    assert result.capacity_principal_fen == 2_875_000 * 12


@settings(max_examples=200)
@given(
    revenue=st.integers(min_value=0, max_value=10**12),
    payroll=st.integers(min_value=0, max_value=10**11),
    receivables=st.integers(min_value=0, max_value=10**11),
    grade=st.sampled_from(["A", "B", "C", "D", "E"]),
)
def test_limit_is_whole_thousands_within_product_bounds_and_grows_with_revenue(
    revenue: int, payroll: int, receivables: int, grade: str
) -> None:
    def limit(rev: int) -> int:
        capacity = RepaymentCapacity(
            tax_revenue_12m_fen=rev,
            payroll_12m_fen=payroll,
            procurement_receivables_fen=receivables,
        )
        return assess_limit(
            capacity, grade=grade, annual_rate=RATE, bounds=BOUNDS, policy=LimitPolicy()
        ).limit_fen

    amount = limit(revenue)
    assert isinstance(amount, int)
    assert amount % ROUNDING_UNIT_FEN == 0
    assert amount == 0 or BOUNDS.min_amount_fen <= amount <= BOUNDS.max_amount_fen
    assert limit(revenue + 10_000_000) >= amount


# --- the umbrella -------------------------------------------------------------------------------

NOW = datetime(2025, 3, 1, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=365)


def umbrella(basis: ExposureBasis = ExposureBasis.OUTSTANDING) -> CreditLimit:
    granted = CreditLimit.grant(
        limit_id="L-1",
        customer_id="91330106MA2XXXXX1A",
        total_fen=50_000_000,
        sub_limits={"procurement-loan": 40_000_000, "tax-loan": 30_000_000},
        expires_at=EXPIRES,
        basis=basis,
    )
    active, _ = granted.activate(at=NOW)
    return active


def test_grant_starts_pending_and_activation_emits_an_event() -> None:
    granted = CreditLimit.grant(
        limit_id="L-1",
        customer_id="c",
        total_fen=1_000_000,
        sub_limits={"p": 1_000_000},
        expires_at=EXPIRES,
    )
    assert granted.state is LimitState.PENDING
    with pytest.raises(LimitStateError, match="while pending"):
        granted.occupy("p", 1, at=NOW)
    active, event = granted.activate(at=NOW)
    assert active.state is LimitState.ACTIVE
    assert (event.kind, event.available_fen, event.at) == (LimitEventKind.ACTIVATED, 1_000_000, NOW)
    assert granted.state is LimitState.PENDING  # the original value is untouched


def test_sub_limit_larger_than_umbrella_is_refused() -> None:
    with pytest.raises(OverCreditingError):
        CreditLimit.grant(
            limit_id="L", customer_id="c", total_fen=1, sub_limits={"p": 2}, expires_at=EXPIRES
        )


def test_occupation_across_products_and_partners_cannot_exceed_the_umbrella() -> None:
    limit, event = umbrella().occupy(
        "procurement-loan", 35_000_000, partner_id="partner-a", reference="loan-1", at=NOW
    )
    assert (event.exposure_fen, event.available_fen, event.partner_id) == (
        35_000_000,
        15_000_000,
        "partner-a",
    )
    # tax-loan still has 30,000,000 of its own cap, but the umbrella has only 15,000,000 left.
    assert limit.available_for("tax-loan") == 15_000_000
    with pytest.raises(OverCreditingError, match="15000000 fen available"):
        limit.occupy("tax-loan", 15_000_100, partner_id="partner-b", at=NOW)
    limit, _ = limit.occupy("tax-loan", 15_000_000, partner_id="partner-b", at=NOW)
    assert limit.available_fen == 0


def test_sub_limit_caps_its_own_product() -> None:
    with pytest.raises(OverCreditingError):
        umbrella().occupy("tax-loan", 30_000_001, at=NOW)
    with pytest.raises(UnknownProductError):
        umbrella().occupy("car-loan", 1, at=NOW)
    with pytest.raises(InvalidAmountError):
        umbrella().occupy("tax-loan", 0, at=NOW)


def test_repayment_restores_availability_only_on_outstanding_basis() -> None:
    revolving, _ = umbrella(ExposureBasis.OUTSTANDING).occupy("tax-loan", 10_000_000, at=NOW)
    revolving, _ = revolving.release("tax-loan", 4_000_000, cause=ReleaseCause.REPAYMENT, at=NOW)
    assert revolving.available_fen == 44_000_000
    fixed, _ = umbrella(ExposureBasis.APPROVED).occupy("tax-loan", 10_000_000, at=NOW)
    fixed, _ = fixed.release("tax-loan", 4_000_000, cause=ReleaseCause.REPAYMENT, at=NOW)
    assert fixed.available_fen == 40_000_000
    fixed, _ = fixed.release("tax-loan", 10_000_000, cause=ReleaseCause.SETTLEMENT, at=NOW)
    assert fixed.available_fen == 50_000_000


def test_release_beyond_what_is_occupied_is_refused() -> None:
    limit, _ = umbrella().occupy("tax-loan", 1_000_000, at=NOW)
    with pytest.raises(ReleaseExceedsExposureError):
        limit.release("tax-loan", 1_000_001, cause=ReleaseCause.REPAYMENT, at=NOW)


def test_frozen_limit_refuses_occupation_but_accepts_repayment() -> None:
    limit, _ = umbrella().occupy("tax-loan", 1_000_000, at=NOW)
    frozen, event = limit.freeze("early warning: tax arrears", at=NOW)
    assert event.reason == "early warning: tax arrears"
    with pytest.raises(LimitStateError, match="while frozen"):
        frozen.occupy("tax-loan", 1, at=NOW)
    frozen, _ = frozen.release("tax-loan", 1_000_000, cause=ReleaseCause.REPAYMENT, at=NOW)
    active, _ = frozen.unfreeze(at=NOW)
    assert active.state is LimitState.ACTIVE


def test_expiry_and_closure() -> None:
    limit, _ = umbrella().occupy("tax-loan", 1_000_000, at=NOW)
    with pytest.raises(LimitStateError, match="does not expire until"):
        limit.expire(at=NOW)
    with pytest.raises(LimitStateError, match="expired at"):
        limit.occupy("tax-loan", 1, at=EXPIRES)
    expired, _ = limit.expire(at=EXPIRES)
    with pytest.raises(LimitStateError):
        expired.unfreeze(at=EXPIRES)
    with pytest.raises(LimitStateError, match="still has loans outstanding"):
        expired.close("term ended", at=EXPIRES)
    repaid, _ = expired.release("tax-loan", 1_000_000, cause=ReleaseCause.REPAYMENT, at=EXPIRES)
    closed, event = repaid.close("term ended", at=EXPIRES)
    assert (closed.state, event.kind) == (LimitState.CLOSED, LimitEventKind.CLOSED)
    with pytest.raises(LimitStateError):
        closed.close("again", at=EXPIRES)


def test_adjustment_cannot_go_below_what_is_occupied() -> None:
    limit, _ = umbrella().occupy("tax-loan", 20_000_000, at=NOW)
    with pytest.raises(OverCreditingError, match="below"):
        limit.adjust(total_fen=19_000_000, reason="re-check", at=NOW)
    with pytest.raises(OverCreditingError, match="tax-loan"):
        limit.adjust(sub_limits={"tax-loan": 10_000_000}, reason="re-check", at=NOW)
    lowered, event = limit.adjust(
        total_fen=30_000_000, sub_limits={"working-capital": 5_000_000}, reason="re-check", at=NOW
    )
    assert event.amount_fen == -20_000_000
    assert lowered.available_fen == 10_000_000
    assert lowered.sub_limit("working-capital").limit_fen == 5_000_000
    assert lowered.sub_limit("procurement-loan").limit_fen == 30_000_000  # trimmed to the total
    with pytest.raises(OverCreditingError, match="exceeds the umbrella total"):
        limit.adjust(total_fen=30_000_000, sub_limits={"tax-loan": 30_000_001}, reason="x", at=NOW)


operations = st.lists(
    st.tuples(
        st.sampled_from(["occupy", "repay", "settle"]),
        st.sampled_from(["procurement-loan", "tax-loan"]),
        st.integers(min_value=1, max_value=60_000_000),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(ops=operations, basis=st.sampled_from(list(ExposureBasis)))
def test_no_sequence_of_operations_over_credits(
    ops: list[tuple[str, str, int]], basis: ExposureBasis
) -> None:
    limit = umbrella(basis)
    for op, product, amount in ops:
        try:
            if op == "occupy":
                limit, event = limit.occupy(product, amount, at=NOW)
            else:
                cause = ReleaseCause.REPAYMENT if op == "repay" else ReleaseCause.SETTLEMENT
                limit, event = limit.release(product, amount, cause=cause, at=NOW)
        except (OverCreditingError, ReleaseExceedsExposureError):
            continue
        assert event.exposure_fen == limit.exposure_fen
        assert 0 <= limit.exposure_fen <= limit.total_fen
        assert limit.available_fen == limit.total_fen - limit.exposure_fen >= 0
        for sub in limit.sub_limits:
            assert 0 <= sub.outstanding_fen <= sub.approved_fen
            assert sub.exposure(basis) <= sub.limit_fen
