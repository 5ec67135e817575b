"""``LoanOffer``: what an approved application hands to servicing; the lending side builds it."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import msgspec

from puhui.lending.allocation import DEFAULT_ORDER, AllocationPolicy, Bucket
from puhui.lending.daycount import DayCount
from puhui.lending.schedules import LoanTerms, RepaymentMethod
from puhui.money import Rate

__all__ = ["LoanOffer"]


class LoanOffer(msgspec.Struct, frozen=True, kw_only=True):
    """The approved terms of one loan: amount in fen, exact annual rate, term and method."""

    tenant_id: uuid.UUID  # the partner channel the application came through
    customer_id: uuid.UUID
    enterprise_uscc: str
    enterprise_name: str
    settlement_account: str  # the borrower's account at the bank: paid into, debited from
    product_code: str
    product_version: str
    principal: int
    annual_rate: Decimal
    term_months: int
    method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALMENT
    day_count: DayCount = DayCount.THIRTY_360
    start_date: date
    repayment_day: int | None = None
    instalment_fee: int = 0
    upfront_fee: int = 0
    penalty_markup: Decimal = Decimal("0.5")
    allocation_order: tuple[Bucket, ...] = DEFAULT_ORDER
    revolving: bool = False
    credit_limit_id: uuid.UUID | None = None
    consent_id: uuid.UUID | None = None
    monitoring_consent_until: date | None = None
    application_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.principal <= 0:
            raise ValueError("principal must be a positive amount of fen")
        if self.upfront_fee < 0 or self.upfront_fee >= self.principal or self.instalment_fee < 0:
            raise ValueError("fees must be non-negative and the upfront fee below the principal")
        AllocationPolicy(order=self.allocation_order)  # refuses an order missing a bucket

    def terms(self) -> LoanTerms:
        """The schedule terms (validated by ``LoanTerms`` itself)."""
        return LoanTerms(
            principal=self.principal,
            rate=Rate(self.annual_rate),
            term_months=self.term_months,
            start_date=self.start_date,
            repayment_day=self.repayment_day,
            day_count=self.day_count,
            method=self.method,
            instalment_fee=self.instalment_fee,
        )
