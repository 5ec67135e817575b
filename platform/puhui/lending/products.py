"""Loan product specifications: the GB/T 32319 description elements plus bounds, prices, routing.

A product is data, versioned and effective-dated (JR/T 0269 8.4.1); the decision reads it through
`to_decision_product()` and the public page shows its APR computed by the IRR method from a
representative schedule (`representative_cost()`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Final

import msgspec

from puhui.lending.apr import CreditCost, credit_cost
from puhui.lending.schedules import LoanTerms, RepaymentMethod, build_schedule
from puhui.money import Rate, div_round_half_up
from puhui.risk.decision import Product, RoutingPolicy
from puhui.risk.limits import MitigationKind, ProductBounds

__all__ = [
    "CostExample",
    "ProductFees",
    "ProductSpec",
    "Scenario",
    "ServiceHours",
    "cost_example",
    "representative_cost",
    "to_decision_product",
    "upfront_fee_fen",
]

_BPS: Final = 10_000


class Scenario(StrEnum):
    """The business scenario whose data a product lends against (JR/T 0269 8.4.1)."""

    TAX = "tax"
    PROCUREMENT = "procurement"
    PAYROLL = "payroll"


class ServiceHours(msgspec.Struct, frozen=True, kw_only=True):
    """When the product can be applied for (GB/T 32319 service time)."""

    days: str  # e.g. "Mon-Sun"
    opens: str  # "00:00", Beijing time
    closes: str  # "24:00"


class ProductFees(msgspec.Struct, frozen=True, kw_only=True):
    """Fees the borrower pays; both count in the APR (PBoC [2021] No. 3)."""

    upfront_fee_bps: int = 0  # withheld from the disbursement, basis points of principal
    instalment_fee_fen: int = 0  # charged with every instalment


class ProductSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One version of a loan product as published in the catalogue (GB/T 32319-2015 5)."""

    # GB/T 32319 description elements
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9-]{2,31}$")]
    version: Annotated[int, msgspec.Meta(ge=1)]
    name_zh: str
    name_en: str
    issuer: str
    suitable_customers_zh: str
    suitable_customers_en: str
    currency: str = "CNY"
    channels: tuple[str, ...] = ("open_api",)
    service_hours: ServiceHours
    scenario: Scenario
    effective_from: datetime
    effective_to: datetime | None = None
    # bounds and terms
    min_amount_fen: Annotated[int, msgspec.Meta(gt=0)]
    max_amount_fen: Annotated[int, msgspec.Meta(gt=0)]
    term_options_months: tuple[int, ...]
    min_annual_rate: Decimal
    max_annual_rate: Decimal
    repayment_methods: tuple[RepaymentMethod, ...]
    fees: ProductFees = msgspec.field(default_factory=ProductFees)
    required_sources: tuple[str, ...]  # data sources an application must have before deciding
    partner_channels: tuple[str, ...]  # tenant codes allowed to offer the product
    pricing: dict[str, Decimal]  # risk grade → annual interest rate
    routing: RoutingPolicy
    offer_validity_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14
    # Risk mitigations the product takes (9.3.2 a), e.g. the assignment of government-contract
    # receivables for a procurement-contract loan; each adds to the capacity-based limit.
    mitigations: tuple[MitigationKind, ...] = ()

    @property
    def max_term_months(self) -> int:
        return max(self.term_options_months)

    def validate(self) -> None:
        """Refuse an inconsistent specification before it is published."""
        if self.min_amount_fen > self.max_amount_fen:
            raise ValueError("min amount exceeds max amount")
        if not self.term_options_months or min(self.term_options_months) < 1:
            raise ValueError("a product needs at least one term of one month or more")
        if not self.repayment_methods:
            raise ValueError("a product needs at least one repayment method")
        if not Decimal(0) <= self.min_annual_rate <= self.max_annual_rate:
            raise ValueError("rate bounds are inverted or negative")
        for grade, rate in self.pricing.items():
            if not self.min_annual_rate <= rate <= self.max_annual_rate:
                raise ValueError(f"price of grade {grade} is outside the product's rate bounds")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must follow effective_from")

    def in_force(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


def to_decision_product(spec: ProductSpec, term_months: int | None = None) -> Product:
    """The product as `puhui.risk.decision` sees it; the limit is shaped by the chosen term."""
    return Product(
        code=spec.code,
        version=str(spec.version),
        bounds=ProductBounds(
            min_amount_fen=spec.min_amount_fen,
            max_amount_fen=spec.max_amount_fen,
            tenor_months=term_months or spec.max_term_months,
        ),
        pricing=dict(spec.pricing),
        routing=spec.routing,
    )


def upfront_fee_fen(spec: ProductSpec, principal_fen: int) -> int:
    return div_round_half_up(principal_fen * spec.fees.upfront_fee_bps, _BPS)


class CostExample(msgspec.Struct, frozen=True, kw_only=True):
    """A worked example of what the credit costs, stated with its APR (IRR method)."""

    principal_fen: int
    term_months: int
    repayment_method: RepaymentMethod
    annual_interest_rate: Decimal  # the nominal contract rate
    apr_percent: Decimal  # annualised by the IRR method, percent to four decimals
    apr_method: str
    daily_rate_percent: Decimal  # nominal / 360, shown only beside the APR, never instead
    amount_received_fen: int
    total_payable_fen: int
    total_cost_fen: int


def cost_example(
    spec: ProductSpec,
    *,
    principal_fen: int,
    term_months: int,
    annual_rate: Decimal,
    method: RepaymentMethod,
    start: date,
) -> CostExample:
    """APR and total cost of one concrete loan under this product (credit_cost, IRR method)."""
    schedule = build_schedule(
        LoanTerms(
            principal=principal_fen,
            rate=Rate(annual_rate),
            term_months=term_months,
            start_date=start,
            method=method,
            instalment_fee=spec.fees.instalment_fee_fen,
        )
    )
    cost: CreditCost = credit_cost(schedule, upfront_fee_fen(spec, principal_fen))
    return CostExample(
        principal_fen=principal_fen,
        term_months=term_months,
        repayment_method=method,
        annual_interest_rate=annual_rate,
        apr_percent=cost.apr,
        apr_method="IRR, monthly IRR x 12 (PBoC Announcement [2021] No. 3)",
        daily_rate_percent=(annual_rate * 100 / 360).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        ),
        amount_received_fen=cost.amount_received,
        total_payable_fen=cost.total_payable,
        total_cost_fen=cost.total_cost,
    )


def representative_cost(spec: ProductSpec, start: date) -> CostExample:
    """The representative example for the product page: mid amount, longest term, worst price."""
    principal = (spec.min_amount_fen + spec.max_amount_fen) // 2
    principal -= principal % 100_00  # a round number of yuan hundreds
    return cost_example(
        spec,
        principal_fen=max(principal, spec.min_amount_fen),
        term_months=spec.max_term_months,
        annual_rate=spec.max_annual_rate,
        method=spec.repayment_methods[0],
        start=start,
    )
