"""Servicing request and response bodies (msgspec); amounts are integer fen."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "ContractRead",
    "ContractSent",
    "ContractSign",
    "DisbursementRead",
    "DisposalRead",
    "DisposalTransition",
    "DocumentVerification",
    "DocumentVerify",
    "LoanFromApplication",
    "LoanOpen",
    "LoanRead",
    "PostingRead",
    "RepaymentCreate",
    "RepaymentRead",
    "ScheduleLineRead",
    "TrialBalanceLineRead",
    "TrialBalanceRead",
    "WarningRead",
]

Fen = Annotated[int, msgspec.Meta(ge=1, le=10**13)]
Key = Annotated[str, msgspec.Meta(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


class LoanOpen(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An approved offer to service (operator sandbox entry; lending hands over the same)."""

    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    enterprise_uscc: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]
    enterprise_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    settlement_account: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{10,32}$")]
    product_code: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]{2,64}$")]
    product_version: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9.]{1,32}$")]
    principal_fen: Fen
    # An exact annual rate as a decimal fraction in [0, 1), e.g. "0.0435".
    annual_rate: Annotated[str, msgspec.Meta(pattern=r"^0(\.[0-9]{1,8})?$")]
    term_months: Annotated[int, msgspec.Meta(ge=1, le=360)]
    method: Literal["equal_instalment", "equal_principal", "interest_only", "bullet"]
    day_count: Literal["30/360", "ACT/365", "ACT/360"] = "30/360"
    instalment_fee_fen: Annotated[int, msgspec.Meta(ge=0, le=10**10)] = 0
    upfront_fee_fen: Annotated[int, msgspec.Meta(ge=0, le=10**10)] = 0
    revolving: bool = False
    consent_id: uuid.UUID | None = None
    monitoring_consent_until: date | None = None


class LoanFromApplication(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The contract-generation request for an approved application."""

    # The borrower's account at the bank: paid into, debited from.
    settlement_account: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{10,32}$")]


class ScheduleLineRead(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    due_date: date
    principal: int
    interest: int
    fees: int
    penalty: int
    paid: int
    owed: int


class LoanRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: str
    product_code: str
    product_version: str
    principal: int
    annual_rate: str
    apr: str
    term_months: int
    method: str
    start_date: date
    maturity_date: date
    dpd: int
    bucket: str
    loan_class: str
    outstanding_principal: int
    schedule: list[ScheduleLineRead]
    version: int


class ContractRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    loan_id: uuid.UUID
    status: str
    template: str
    document_sha256: str
    signed_at: datetime | None
    effective_at: datetime | None
    evidence: dict[str, object] | None
    evidence_jws: str | None


class ContractSent(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    code_expires_in_seconds: int
    # Where the notifier sent the one-time code: the borrower's phone, masked.
    sent_to: str


class ContractSign(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]
    document_sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
    device: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DocumentVerify(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The document to check: the HTML text, or the PDF rendering as base64 (one of the two)."""

    evidence_jws: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    document: Annotated[str, msgspec.Meta(min_length=1, max_length=500_000)] | None = None
    document_base64: Annotated[str, msgspec.Meta(min_length=4, max_length=8_000_000)] | None = None


class DocumentVerification(msgspec.Struct, frozen=True, kw_only=True):
    valid: bool
    reason: str
    contract_id: str | None = None
    signed_at: str | None = None


class DisbursementRead(msgspec.Struct, frozen=True, kw_only=True):
    loan_id: uuid.UUID
    state: str
    amount: int
    rail_reference: str | None


class RepaymentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount_fen: Fen
    idempotency_key: Key
    overpayment: Literal["suspense", "prepay"] = "suspense"
    prepayment_option: Literal["shorten_term", "reduce_instalment"] = "reduce_instalment"


class RepaymentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    loan_id: uuid.UUID
    channel: str
    amount: int
    received_on: date
    allocated: int
    prepaid_principal: int
    to_suspense: int
    lines: list[dict[str, object]]


class PostingRead(msgspec.Struct, frozen=True, kw_only=True):
    entry_id: uuid.UUID
    kind: str
    value_date: date
    account: str
    debit: int
    credit: int


class WarningRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    loan_id: uuid.UUID
    rule: str
    severity: str
    action: str
    detail: str
    fired_at: datetime
    disposal_id: uuid.UUID
    disposal_state: str


class DisposalRead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    tenant_id: uuid.UUID
    loan_id: uuid.UUID
    warning_id: uuid.UUID
    action: str
    state: str
    outcome: str | None
    version: int


class DisposalTransition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    state: Literal["in_progress", "completed", "dismissed"]
    version: Annotated[int, msgspec.Meta(ge=1)]
    outcome: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class TrialBalanceLineRead(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    debit: int
    credit: int
    balance: int


class TrialBalanceRead(msgspec.Struct, frozen=True, kw_only=True):
    balanced: bool
    total_debit: int
    total_credit: int
    entries: int
    lines: list[TrialBalanceLineRead]
