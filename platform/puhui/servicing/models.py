"""Servicing tables: loans, schedule lines, contracts, signing codes, disbursements, the ledger,
repayments, early warnings and disposals, renewal offers and batch checkpoints."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned, Versioned

__all__ = [
    "AccountType",
    "BatchCheckpoint",
    "Contract",
    "ContractStatus",
    "Disbursement",
    "DisbursementState",
    "Disposal",
    "DisposalState",
    "EarlyWarning",
    "JournalEntry",
    "Loan",
    "LoanStatus",
    "ModelMonitoringReport",
    "Posting",
    "RenewalOffer",
    "Repayment",
    "ScheduleLine",
]


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class LoanStatus(enum.StrEnum):
    AWAITING_SIGNATURE = "awaiting_signature"
    AWAITING_DISBURSEMENT = "awaiting_disbursement"
    ACTIVE = "active"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class Loan(TenantOwned, Versioned, Base):
    """A loan from approval to its last repayment; amounts in fen, the rate an exact decimal."""

    __tablename__ = "loans"

    application_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    settlement_account: Mapped[str] = mapped_column(String(64))
    consent_id: Mapped[uuid.UUID | None] = mapped_column()
    monitoring_consent_until: Mapped[date | None] = mapped_column(Date)
    product_code: Mapped[str] = mapped_column(String(64))
    product_version: Mapped[str] = mapped_column(String(32))
    revolving: Mapped[bool] = mapped_column(default=False)
    credit_limit_id: Mapped[uuid.UUID | None] = mapped_column()
    principal: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[str] = mapped_column(String(24))
    term_months: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    day_count: Mapped[str] = mapped_column(String(16))
    repayment_day: Mapped[int] = mapped_column(Integer)
    instalment_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    upfront_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_markup: Mapped[str] = mapped_column(String(24), default="0.5")
    allocation_order: Mapped[list[str]] = mapped_column(JSON)
    start_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date, index=True)
    # The schedule in force: its number, and the principal/date/level it amortises from.
    schedule_version: Mapped[int] = mapped_column(Integer, default=1)
    schedule_principal: Mapped[int] = mapped_column(BigInteger)
    schedule_start: Mapped[date] = mapped_column(Date)
    level_amount: Mapped[int] = mapped_column(BigInteger)
    apr: Mapped[str] = mapped_column(String(24))
    status: Mapped[LoanStatus] = mapped_column(_enum(LoanStatus, "loan_status"), index=True)
    disbursed_at: Mapped[datetime | None] = mapped_column()
    settled_at: Mapped[datetime | None] = mapped_column()
    penalty_accrued_through: Mapped[date | None] = mapped_column(Date)
    dpd: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8), default="M0")
    loan_class: Mapped[str] = mapped_column(String(24), default="normal")
    classification_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    monitoring_active: Mapped[bool] = mapped_column(default=True)
    monitoring_features: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    limit_frozen: Mapped[bool] = mapped_column(default=False)


class ScheduleLine(TenantOwned, Base):
    """One instalment of one schedule version: what falls due and what has been paid, by bucket."""

    __tablename__ = "loan_schedule_lines"
    __table_args__ = (UniqueConstraint("loan_id", "schedule_version", "number"),)

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    schedule_version: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    opening_balance: Mapped[int] = mapped_column(BigInteger)
    closing_balance: Mapped[int] = mapped_column(BigInteger)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    penalty: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_interest: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fees: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_penalty: Mapped[int] = mapped_column(BigInteger, default=0)
    # Interest and fees become receivable (and income) once due or once paid, whichever first.
    recognised: Mapped[bool] = mapped_column(default=False)
    superseded: Mapped[bool] = mapped_column(default=False)


class ContractStatus(enum.StrEnum):
    GENERATED = "generated"
    SENT = "sent"
    SIGNED = "signed"
    EFFECTIVE = "effective"
    VOIDED = "voided"


class Contract(TenantOwned, Versioned, Base):
    """The loan contract: the exact rendered document, its hash and, once signed, its evidence."""

    __tablename__ = "loan_contracts"

    loan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loans.id", ondelete="CASCADE"), unique=True
    )
    template: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[ContractStatus] = mapped_column(_enum(ContractStatus, "contract_status"))
    sent_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    effective_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()
    void_reason: Mapped[str | None] = mapped_column(String(500))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence_jws: Mapped[str | None] = mapped_column(Text)
    # The customer one-time code (``customer_one_time_codes``) sent for the signature.
    signing_code_id: Mapped[uuid.UUID | None] = mapped_column()
    # The PDF rendering of the signed HTML, sealed at signing; its hash is in the evidence.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class DisbursementState(enum.StrEnum):
    PENDING = "pending"  # intent recorded, nothing sent yet
    SENT = "sent"  # transfer request in flight or outcome unknown: reconcile before retrying
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Disbursement(TenantOwned, Versioned, Base):
    """The disbursement intent: one per loan; its key is the core bank's idempotency key."""

    __tablename__ = "loan_disbursements"

    loan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loans.id", ondelete="CASCADE"), unique=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    payee_account: Mapped[str] = mapped_column(String(64))
    state: Mapped[DisbursementState] = mapped_column(
        _enum(DisbursementState, "disbursement_state"), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The Idempotency-Key of the request that created the intent (retries may carry any key).
    request_key: Mapped[str | None] = mapped_column(String(255))
    rail_reference: Mapped[str | None] = mapped_column(String(80))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()


class AccountType(enum.StrEnum):
    """The ledger's chart of accounts; assets have a debit normal balance."""

    PRINCIPAL_RECEIVABLE = "principal_receivable"
    INTEREST_RECEIVABLE = "interest_receivable"
    PENALTY_RECEIVABLE = "penalty_receivable"
    FEES_RECEIVABLE = "fees_receivable"
    CUSTOMER_SETTLEMENT = "customer_settlement"
    SUSPENSE = "suspense"
    INTEREST_INCOME = "interest_income"
    PENALTY_INCOME = "penalty_income"
    FEE_INCOME = "fee_income"


class JournalEntry(TenantOwned, Base):
    """A balanced journal entry; never edited, corrected only by a reversing entry."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("total_debit = total_credit", name="balanced"),
        CheckConstraint("total_debit > 0", name="positive"),
    )

    loan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("loans.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    # One business event posts once: the key makes a retried posting a no-op.
    event_key: Mapped[str] = mapped_column(String(120), unique=True)
    value_date: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(300))
    total_debit: Mapped[int] = mapped_column(BigInteger)
    total_credit: Mapped[int] = mapped_column(BigInteger)
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), unique=True
    )


class Posting(TenantOwned, Base):
    """One side of a journal entry on one account: exactly one of debit and credit is positive."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint(
            "(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)", name="one_side"
        ),
        Index("ix_ledger_postings_account_loan", "account", "loan_id"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), index=True
    )
    loan_id: Mapped[uuid.UUID | None] = mapped_column()
    account: Mapped[AccountType] = mapped_column(_enum(AccountType, "ledger_account"))
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)


class Repayment(TenantOwned, Base):
    """Money received for a loan and how it was applied (allocation, prepayment, suspense)."""

    __tablename__ = "loan_repayments"

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date] = mapped_column(Date)
    allocated: Mapped[int] = mapped_column(BigInteger)
    prepaid_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    to_suspense: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    journal_entry_id: Mapped[uuid.UUID] = mapped_column()
    rail_reference: Mapped[str | None] = mapped_column(String(80))


class EarlyWarning(TenantOwned, Base):
    """A post-loan warning rule that fired on a loan's scenario data (JR/T 0269 9.5)."""

    __tablename__ = "loan_early_warnings"
    __table_args__ = (UniqueConstraint("loan_id", "rule", "observed_key"),)

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500))
    observed: Mapped[dict[str, Any]] = mapped_column(JSON)
    observed_key: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column()


class DisposalState(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DISMISSED = "dismissed"


class Disposal(TenantOwned, Versioned, Base):
    """The handling of a warning: its action, who works it, its state and outcome."""

    __tablename__ = "loan_disposals"

    warning_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_early_warnings.id", ondelete="CASCADE"), unique=True
    )
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[DisposalState] = mapped_column(_enum(DisposalState, "disposal_state"))
    assignee_member_id: Mapped[uuid.UUID | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(1000))
    closed_at: Mapped[datetime | None] = mapped_column()


class RenewalOffer(TenantOwned, Base):
    """The outcome of a renewal pre-assessment for one loan in one run (JR/T 0269 8.5.2 b)."""

    __tablename__ = "loan_renewal_offers"
    __table_args__ = (UniqueConstraint("loan_id", "run_key"),)

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[str | None] = mapped_column(String(24))
    term_months: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(8))
    decision_hash: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSON)


class BatchCheckpoint(Base):
    """How far a bank batch run has got, so a rerun resumes instead of starting over."""

    __tablename__ = "batch_checkpoints"
    __table_args__ = (UniqueConstraint("job", "run_key"),)

    job: Mapped[str] = mapped_column(String(64))
    run_key: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[str | None] = mapped_column(String(64))
    processed: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column()


class ModelMonitoringReport(Base):
    """One model re-validation run over stored decisions and outcomes (JR/T 0269 6.5.2 d)."""

    __tablename__ = "model_monitoring_reports"
    __table_args__ = (UniqueConstraint("model_id", "model_version", "run_key"),)

    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    run_key: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    development_size: Mapped[int] = mapped_column(Integer)
    recent_size: Mapped[int] = mapped_column(Integer)
    matured_size: Mapped[int] = mapped_column(Integer)
    score_psi: Mapped[float | None] = mapped_column(Float)
    feature_psi: Mapped[dict[str, float]] = mapped_column(JSON)
    ks: Mapped[float | None] = mapped_column(Float)
    auc: Mapped[float | None] = mapped_column(Float)
    bad_rate_by_grade: Mapped[dict[str, Any]] = mapped_column(JSON)
    alerts: Mapped[list[str]] = mapped_column(JSON)
    html: Mapped[str] = mapped_column(Text)
