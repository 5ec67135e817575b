"""``LoanOffer``: the approved terms servicing opens a loan from, and ``ApplicationOffers``, which
builds it from an APPROVED lending application (the hand-off from lending to servicing)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.consent.models import Consent
from puhui.errors import Conflict
from puhui.lending.allocation import DEFAULT_ORDER, AllocationPolicy, Bucket
from puhui.lending.daycount import DayCount
from puhui.lending.models import ApplicationStatus
from puhui.lending.products import upfront_fee_fen
from puhui.lending.repository import ApplicationRepository
from puhui.lending.schedules import LoanTerms, RepaymentMethod
from puhui.lending.service import ProductCatalogue
from puhui.money import Rate
from puhui.servicing.repository import legal_representative

__all__ = ["ApplicationOffers", "LoanOffer"]


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


class ApplicationOffers:
    """The ``LoanOffer`` of an APPROVED application: approved amount and rate, the applied term
    and method, the product version's fees; the borrower's settlement account comes with the
    contract-generation request (the application does not carry one)."""

    def __init__(self, settlement_account: str, start_date: date | None = None) -> None:
        self._account = settlement_account
        self._start = start_date

    async def offer_for(self, session: AsyncSession, application_id: uuid.UUID) -> LoanOffer:
        application = await ApplicationRepository(session).get(application_id)  # 404 if not ours
        if application.status is not ApplicationStatus.APPROVED:
            raise Conflict(f"A {application.status.value} application has no approved offer.")
        if not application.approved_amount_fen or application.annual_rate is None:
            raise Conflict("The approval names no amount or rate.")
        spec = await ProductCatalogue(session).version(
            application.product_code, application.product_version
        )
        signer = application.customer_id or await legal_representative(session, application.uscc)
        if signer is None:
            raise Conflict("No bank customer can sign for this enterprise: enrol its legal "
                           "representative first.")  # fmt: skip
        consent = (
            await session.get(Consent, application.consent_id) if application.consent_id else None
        )
        until = consent.valid_until if consent is not None else None
        principal = application.approved_amount_fen
        return LoanOffer(
            tenant_id=application.tenant_id,
            customer_id=signer,
            enterprise_uscc=application.uscc,
            enterprise_name=application.enterprise_name,
            settlement_account=self._account,
            product_code=spec.code,
            product_version=str(spec.version),
            principal=principal,
            annual_rate=Decimal(application.annual_rate),
            term_months=application.term_months,
            method=RepaymentMethod(application.repayment_method),
            start_date=self._start or utcnow().date(),
            instalment_fee=spec.fees.instalment_fee_fen,
            upfront_fee=upfront_fee_fen(spec, principal),
            consent_id=application.consent_id,
            monitoring_consent_until=until.date() if until is not None else None,
            application_id=application.id,
        )
