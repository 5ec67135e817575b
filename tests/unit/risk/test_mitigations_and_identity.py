"""Procurement receivables and mitigations in the limit model; identity facts; graph keys."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from puhui.risk.fraud import (
    EnterpriseAttributes,
    find_rings,
    normalise_address,
    normalise_bank_account,
)
from puhui.risk.identity import IdentityEvidence, identity_facts
from puhui.risk.inputs import StoredFeatures, repayment_capacity
from puhui.risk.limits import (
    CreditLimit,
    InvalidAmountError,
    LimitPolicy,
    Mitigation,
    MitigationKind,
    ProductBounds,
    RepaymentCapacity,
    assess_limit,
)

GPA = MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT
# Zero rate and 12 months make the arithmetic visible: principal = 12 × monthly capacity.
# Revenue 9.6m yuan: inflow 0.7R/12, × 25% margin × 50% DSR → principal 0.0875R = 840,000 yuan;
# the revenue cap (25%) is 2,400,000 yuan.
REVENUE = 960_000_000
WIDE = ProductBounds(min_amount_fen=1, max_amount_fen=1_000_000_000, tenor_months=12)


def assess(
    value_fen: int, *, grade: str = "B", bounds: ProductBounds = WIDE
) -> tuple[int, tuple[str, ...]]:
    capacity = RepaymentCapacity(
        tax_revenue_12m_fen=REVENUE,
        mitigations=(Mitigation(kind=GPA, value_fen=value_fen),) if value_fen else (),
    )
    result = assess_limit(
        capacity, grade=grade, annual_rate=Decimal(0), bounds=bounds, policy=LimitPolicy()
    )
    return result.limit_fen, result.reason_codes


def features(**values: int | Decimal | str | None) -> StoredFeatures:
    return StoredFeatures(values=dict(values), as_of_by_source={})


class TestRepaymentCapacityFromStoredFeatures:
    def test_awards_are_receivables_for_every_product(self) -> None:
        capacity = repayment_capacity(
            features(
                **{
                    "tax.declared_revenue_12m_fen": 100,
                    "payroll.gross_pay_12m_fen": 10,
                    "procurement.award_value_12m_fen": 5_000,
                }
            )
        )
        assert capacity.tax_revenue_12m_fen == 100
        assert capacity.payroll_12m_fen == 10
        assert capacity.procurement_receivables_fen == 5_000
        assert capacity.mitigations == ()

    def test_an_assigning_product_also_holds_them_as_a_mitigation(self) -> None:
        capacity = repayment_capacity(
            features(**{"procurement.award_value_12m_fen": 5_000}), (GPA,)
        )
        assert capacity.mitigations == (Mitigation(kind=GPA, value_fen=5_000),)

    @pytest.mark.parametrize("award", [None, 0, -10, "n/a"])
    def test_no_awards_no_receivables_and_no_mitigation(self, award: int | str | None) -> None:
        capacity = repayment_capacity(
            features(**{"procurement.award_value_12m_fen": award}), (GPA,)
        )
        assert capacity.procurement_receivables_fen == 0
        assert capacity.mitigations == ()

    def test_receivables_raise_the_cash_flow_limit(self) -> None:
        base = {"tax.declared_revenue_12m_fen": REVENUE}
        without = repayment_capacity(features(**base))
        with_awards = repayment_capacity(
            features(**base, **{"procurement.award_value_12m_fen": 240_000_000})
        )
        policy = LimitPolicy()
        low, high = (
            assess_limit(c, grade="B", annual_rate=Decimal(0), bounds=WIDE, policy=policy)
            for c in (without, with_awards)
        )
        # 2.4m yuan receivables × 80% / 12 × 25% × 50% × 12 months = 240,000 yuan more
        assert high.limit_fen - low.limit_fen == 24_000_000


class TestMitigationBoundaries:
    def test_without_mitigation(self) -> None:
        assert assess(0) == (84_000_000, ())

    def test_exactly_at_the_revenue_cap_is_not_capped(self) -> None:
        # 840,000 + 2,600,000 × 60% = 2,400,000 yuan = 25% of revenue
        assert assess(260_000_000) == (240_000_000, ())

    def test_one_fen_of_advance_over_the_revenue_cap_is_capped(self) -> None:
        assert assess(260_000_002) == (240_000_000, ("LIMIT_CAPPED_BY_REVENUE",))

    def test_mitigation_lifting_the_limit_exactly_to_the_product_minimum(self) -> None:
        bounds = ProductBounds(min_amount_fen=90_000_000, max_amount_fen=10**9, tenor_months=12)
        assert assess(0, bounds=bounds) == (0, ("LIMIT_BELOW_PRODUCT_MIN",))
        assert assess(10_000_000, bounds=bounds) == (90_000_000, ())
        assert assess(9_999_999, bounds=bounds) == (0, ("LIMIT_BELOW_PRODUCT_MIN",))

    def test_an_advance_below_the_rounding_unit_adds_nothing(self) -> None:
        assert assess(166_665) == (84_000_000, ())  # 99,999 fen advance
        assert assess(166_667) == (84_100_000, ())  # 100,000 fen advance

    def test_a_declined_grade_gets_no_mitigation(self) -> None:
        assert assess(260_000_000, grade="E")[0] == 0

    def test_product_maximum_caps_the_mitigated_limit(self) -> None:
        bounds = ProductBounds(min_amount_fen=1, max_amount_fen=100_000_000, tenor_months=12)
        assert assess(260_000_000, bounds=bounds) == (
            100_000_000,
            ("LIMIT_CAPPED_BY_PRODUCT_MAX",),
        )


class TestIdentityFacts:
    def test_nothing_registered_means_nothing_to_compare(self) -> None:
        facts = identity_facts(IdentityEvidence(), enterprise_name="甲公司", legal_rep_name="张三")
        assert facts.enterprise_name_matches_registration is None
        assert facts.legal_rep_matches_registration is None
        assert facts.source_names_match_registration is None

    def test_variants_of_the_registered_name_match(self) -> None:
        evidence = IdentityEvidence(
            tax_registered_name="杭州明远科技有限公司",
            legal_rep_name="张 伟",
            enterprise_names={"procurement": "杭州明远科技有限责任公司", "payroll": "杭州明远科技"},
        )
        facts = identity_facts(
            evidence, enterprise_name="杭州明远科技 有限公司", legal_rep_name="张伟"
        )
        assert facts.enterprise_name_matches_registration is True
        assert facts.legal_rep_matches_registration is True
        assert facts.source_names_match_registration is True

    def test_each_mismatch_is_its_own_fact(self) -> None:
        evidence = IdentityEvidence(
            tax_registered_name="杭州明远科技有限公司",
            legal_rep_name="张伟",
            enterprise_names={"payroll": "杭州明达贸易有限公司"},
        )
        facts = identity_facts(evidence, enterprise_name="杭州明远科技", legal_rep_name="李娜")
        assert facts.enterprise_name_matches_registration is True
        assert facts.legal_rep_matches_registration is False
        assert facts.source_names_match_registration is False
        other = identity_facts(evidence, enterprise_name="杭州明达贸易", legal_rep_name="张伟")
        assert other.enterprise_name_matches_registration is False
        assert other.legal_rep_matches_registration is True

    def test_a_callers_evidence_wins_and_stored_evidence_fills_the_gaps(self) -> None:
        stored = IdentityEvidence(
            tax_registered_name="甲", legal_rep_name="张三", enterprise_names={"payroll": "甲"}
        )
        given = IdentityEvidence(phone_owner_name="张三", enterprise_names={"payroll": "乙"})
        merged = given.merged(stored)
        assert merged.tax_registered_name == "甲"
        assert merged.legal_rep_name == "张三"
        assert merged.phone_owner_name == "张三"
        assert merged.enterprise_names == {"payroll": "乙"}


class TestGraphKeys:
    def test_address_and_account_normalisation(self) -> None:
        assert normalise_address("杭州市 文一路１号（A座）") == normalise_address(
            "杭州市文一路1号A座"
        )
        assert normalise_bank_account("6222 0202-0001") == "622202020001"
        assert normalise_bank_account("ab12") == "AB12"  # blind indexes compare case-blind

    def test_a_ring_linked_only_by_addresses_and_accounts(self) -> None:
        enterprises = [
            EnterpriseAttributes(uscc="A", addresses=("文一路 1号",)),
            EnterpriseAttributes(uscc="B", addresses=("文一路1号",), bank_accounts=("f00d",)),
            EnterpriseAttributes(uscc="C", bank_accounts=("F00D",)),
            EnterpriseAttributes(uscc="D", addresses=("  ",), bank_accounts=("",)),
        ]
        (ring,) = find_rings(enterprises, min_size=3)
        assert ring.members == ("A", "B", "C")
        assert {s.kind for s in ring.shared} == {"address", "bank_account"}


class TestRecheckAdjustments:
    def test_a_sub_limit_may_close_to_zero_but_not_go_negative(self) -> None:
        at = datetime(2025, 1, 1, tzinfo=UTC)
        limit, _ = CreditLimit.grant(
            limit_id="L",
            customer_id="U",
            total_fen=1_000,
            sub_limits={"a": 1_000, "b": 500},
            expires_at=datetime(2026, 1, 1, tzinfo=UTC),
        ).activate(at=at)
        closed, _ = limit.adjust(sub_limits={"b": 0}, reason="re-check", at=at)
        assert closed.available_for("b") == 0
        with pytest.raises(InvalidAmountError):
            limit.adjust(sub_limits={"b": -1}, reason="re-check", at=at)
