"""Lending schemas on the wire: products, offers, applications, decisions, leads."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from puhui.lending.models import ApplicationStatus, OfferStatus
from puhui.lending.schedules import RepaymentMethod

__all__ = [
    "ApplicationCreate",
    "ApplicationRead",
    "ApplicationWithdraw",
    "CostExampleRead",
    "CustomerReasonRead",
    "DecisionSummary",
    "LeadRead",
    "MatchRead",
    "MatchRequest",
    "OfferRead",
    "OfferRequest",
    "ProductRead",
]

Uscc = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^1[3-9]\d{9}$")]
AmountFen = Annotated[int, msgspec.Meta(gt=0, le=100_000_000_00)]
Term = Annotated[int, msgspec.Meta(ge=1, le=360)]
Purpose = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{3,64}$")]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
DeviceId = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
CustomerIp = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Fa-f:.]{3,45}$")]
Address = Annotated[str, msgspec.Meta(min_length=4, max_length=300)]
BankAccount = Annotated[str, msgspec.Meta(pattern=r"^\d[\d -]{6,38}\d$")]


class CostExampleRead(msgspec.Struct, frozen=True):
    principal_fen: int
    term_months: int
    repayment_method: RepaymentMethod
    apr_percent: Decimal
    apr_method: str
    annual_interest_rate: Decimal
    daily_rate_percent: Decimal
    amount_received_fen: int
    total_payable_fen: int
    total_cost_fen: int


class ProductRead(msgspec.Struct, frozen=True):
    """A product as the public sees it: GB/T 32319 elements, bounds and the representative APR."""

    code: str
    version: int
    name_zh: str
    name_en: str
    issuer: str
    suitable_customers_zh: str
    suitable_customers_en: str
    currency: str
    scenario: str
    channels: list[str]
    service_hours: str
    effective_from: datetime
    min_amount_fen: int
    max_amount_fen: int
    term_options_months: list[int]
    repayment_methods: list[RepaymentMethod]
    min_annual_rate: Decimal
    max_annual_rate: Decimal
    upfront_fee_bps: int
    instalment_fee_fen: int
    required_sources: list[str]
    representative_example: CostExampleRead


class MatchRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    amount_fen: AmountFen
    term_months: Term | None = None
    repayment_method: RepaymentMethod | None = None
    scenario: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{2,32}$")] | None = None


class MatchRead(msgspec.Struct, frozen=True):
    code: str
    version: int
    fit: int
    reasons: list[str]


class OfferRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    uscc: Uscc


class OfferRead(msgspec.Struct, frozen=True):
    id: uuid.UUID
    uscc: str
    product_code: str
    product_version: int
    status: OfferStatus
    min_amount_fen: int
    max_amount_fen: int
    term_options_months: list[int]
    apr_percent: Decimal
    annual_interest_rate: Decimal
    cost_example: CostExampleRead
    expires_at: datetime
    version: int


class ApplicationCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """JR/T 0269 8.4.2 a: enterprise, legal rep, purpose, amount, term, method, contact."""

    uscc: Uscc
    enterprise_name: Name
    legal_rep_name: PersonName
    purpose: Purpose
    amount_fen: AmountFen
    term_months: Term
    repayment_method: RepaymentMethod
    product_code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9-]{2,31}$")]
    contact_name: PersonName
    contact_phone: Phone
    offer_id: uuid.UUID | None = None
    device_id: DeviceId | None = None
    # The customer's own device address as the partner app saw it (velocity checks, 9.6);
    # never the partner server's address, which every customer of the partner shares.
    customer_ip: CustomerIp | None = None
    # Linking attributes of the anti-fraud graph (9.6): where the business operates and the
    # account the loan would be paid into (C3: stored sealed, never returned).
    business_address: Address | None = None
    bank_account: BankAccount | None = None


class ApplicationWithdraw(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason


class ApplicationRead(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: ApplicationStatus
    status_reason: str | None
    uscc: str
    enterprise_name: str
    legal_rep_name: str
    purpose: str
    amount_fen: int
    term_months: int
    repayment_method: str
    product_code: str
    product_version: int
    offer_id: uuid.UUID | None
    contact_name: str
    contact_phone: str | None
    missing_sources: list[str]
    decision_id: uuid.UUID | None
    approved_amount_fen: int | None
    annual_rate: Decimal | None
    created_at: datetime
    expires_at: datetime
    version: int


class CustomerReasonRead(msgspec.Struct, frozen=True):
    code: str
    zh: str
    en: str


class DecisionSummary(msgspec.Struct, frozen=True):
    """What the customer may see of a decision: outcome, limit, price and plain-word reasons."""

    decision_id: uuid.UUID
    route: str
    grade: str
    limit_fen: int
    annual_rate: Decimal | None
    decided_at: datetime
    reasons: list[CustomerReasonRead]


class LeadRead(msgspec.Struct, frozen=True):
    id: uuid.UUID
    application_id: uuid.UUID
    referral: str
    suggested_products: list[str]
    reason: str
    status: str
