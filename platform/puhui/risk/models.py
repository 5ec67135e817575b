"""Risk tables: rule-set and model versions, decisions, blacklist, unified limits, review cases."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, JsonDocument, TenantOwned, Versioned

__all__ = [
    "BlacklistRow",
    "CreditDecision",
    "CreditLimitEventRow",
    "CustomerCreditLimit",
    "ReviewCase",
    "ReviewStatus",
    "RuleSetVersion",
    "ScoringModelVersion",
]


class ReviewStatus(enum.StrEnum):
    """open → assigned → approved | declined | returned (for more information)."""

    OPEN = "open"
    ASSIGNED = "assigned"
    APPROVED = "approved"
    DECLINED = "declined"
    RETURNED = "returned"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class RuleSetVersion(Base):
    """A published admission rule-set document (JR/T 0269 9.2.2 a); never changed once stored."""

    __tablename__ = "admission_rulesets"
    __table_args__ = (UniqueConstraint("ruleset_id", "version"),)

    ruleset_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)  # the exact JSON bytes that were published
    published_by: Mapped[uuid.UUID | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(500), default="")


class ScoringModelVersion(Base):
    """A registered scorecard model file (JR/T 0269 9.2.2 b), kept whole so replay needs no disk."""

    __tablename__ = "scoring_models"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    model_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)


class CreditDecision(TenantOwned, Base):
    """A persisted DecisionRecord of one application, owned by the partner it came through."""

    __tablename__ = "credit_decisions"

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_applications.id", ondelete="CASCADE"), index=True
    )
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    product_version: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    limit_fen: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[str | None] = mapped_column(String(16))
    ruleset_id: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column()
    record: Mapped[str] = mapped_column(Text)  # DecisionRecord.to_json(), byte-exact


class BlacklistRow(Base):
    """A dated fraud blacklist entry (JR/T 0269 9.6); value is stored normalised."""

    __tablename__ = "fraud_blacklist"

    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128), index=True)
    valid_from: Mapped[datetime] = mapped_column()
    valid_to: Mapped[datetime | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(100), default="")


class CustomerCreditLimit(Versioned, Base):
    """A customer's unified credit limit across products and partners (JR/T 0269 9.3.1)."""

    __tablename__ = "customer_credit_limits"

    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(String(16))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column()
    sub_limits: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    # When the limit model last ran on this customer's data (grant or re-check, 9.3.1).
    checked_at: Mapped[datetime | None] = mapped_column()


class CreditLimitEventRow(Base):
    """One stored change of a unified limit: occupy, release, adjust, freeze and the rest."""

    __tablename__ = "credit_limit_events"
    # One occupation / release per reference: callers retry safely (idempotent on `reference`).
    __table_args__ = (UniqueConstraint("limit_id", "kind", "reference"),)

    limit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer_credit_limits.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(16))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    exposure_fen: Mapped[int] = mapped_column(BigInteger)
    available_fen: Mapped[int] = mapped_column(BigInteger)
    product_code: Mapped[str | None] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    partner_tenant_id: Mapped[uuid.UUID | None] = mapped_column()
    reference: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500), default="")


class ReviewCase(Versioned, Base):
    """An application routed to a risk officer (JR/T 0269 9.2.2 c); the bank's own queue."""

    __tablename__ = "review_cases"

    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="RESTRICT"), index=True
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_applications.id", ondelete="CASCADE"), unique=True
    )
    decision_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credit_decisions.id", ondelete="CASCADE")
    )
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_status"), index=True)
    route_reasons: Mapped[list[str]] = mapped_column(JsonDocument)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column()
    resolution_reason: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[datetime | None] = mapped_column()
    approved_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
