"""Lending tables: the product catalogue, offers, applications, idempotency keys and leads."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, JsonDocument, TenantOwned, Versioned
from puhui.security.sealed import Sealed

__all__ = [
    "Application",
    "ApplicationStatus",
    "IdempotencyRecord",
    "Lead",
    "LeadStatus",
    "LoanProduct",
    "Offer",
    "OfferStatus",
]


class OfferStatus(enum.StrEnum):
    """created → delivered → accepted | expired | revoked | rejected."""

    CREATED = "created"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REJECTED = "rejected"


class ApplicationStatus(enum.StrEnum):
    """draft → collecting_data → data_ready → under_decision → approved | manual_review | declined;
    withdrawn and expired end an application that is still open."""

    DRAFT = "draft"
    COLLECTING_DATA = "collecting_data"
    DATA_READY = "data_ready"
    UNDER_DECISION = "under_decision"
    APPROVED = "approved"
    MANUAL_REVIEW = "manual_review"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class LeadStatus(enum.StrEnum):
    OPEN = "open"
    CONTACTED = "contacted"
    CLOSED = "closed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class LoanProduct(Base):
    """One published version of a loan product; the bank's catalogue, visible to every tenant."""

    __tablename__ = "loan_products"
    __table_args__ = (UniqueConstraint("code", "version"),)

    code: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    scenario: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[datetime] = mapped_column()
    effective_to: Mapped[datetime | None] = mapped_column()
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class Offer(TenantOwned, Versioned, Base):
    """A pre-qualified offer made to one customer through one partner (JR/T 0269 8.4.2)."""

    __tablename__ = "loan_offers"

    client_id: Mapped[str | None] = mapped_column(String(128))
    consent_id: Mapped[uuid.UUID | None] = mapped_column()
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    product_version: Mapped[int] = mapped_column(Integer)
    min_amount_fen: Mapped[int] = mapped_column(BigInteger)
    max_amount_fen: Mapped[int] = mapped_column(BigInteger)
    term_options: Mapped[list[int]] = mapped_column(JsonDocument)
    annual_rate: Mapped[str] = mapped_column(String(16))  # Decimal as text: exact everywhere
    apr_percent: Mapped[str] = mapped_column(String(16))
    cost_example: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    grade: Mapped[str] = mapped_column(String(8))
    status: Mapped[OfferStatus] = mapped_column(_enum(OfferStatus, "offer_status"))
    expires_at: Mapped[datetime] = mapped_column()
    status_changed_at: Mapped[datetime] = mapped_column()


class Application(TenantOwned, Versioned, Base):
    """A loan application with the standardised fields of JR/T 0269 8.4.2 a."""

    __tablename__ = "loan_applications"

    client_id: Mapped[str | None] = mapped_column(String(128))
    consent_id: Mapped[uuid.UUID | None] = mapped_column()
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    legal_rep_name: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int] = mapped_column(Integer)
    repayment_method: Mapped[str] = mapped_column(String(32))
    product_code: Mapped[str] = mapped_column(String(32))
    product_version: Mapped[int] = mapped_column(Integer)
    offer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("loan_offers.id", ondelete="SET NULL")
    )
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone_enc: Mapped[str | None] = mapped_column(String(512))
    contact_phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_phone = Sealed[str]("contact_phone", index=True)  # C2 personal data (JR/T 0171)
    device_id: Mapped[str | None] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    # Linking attributes of the shared-attribute graph (JR/T 0269 9.6): the address as typed and
    # its normalised key; the repayment account sealed (C3) with a blind index for equality.
    business_address: Mapped[str | None] = mapped_column(String(300))
    address_key: Mapped[str | None] = mapped_column(String(300), index=True)
    bank_account_enc: Mapped[str | None] = mapped_column(String(512))
    bank_account_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    bank_account = Sealed[str]("bank_account", index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        _enum(ApplicationStatus, "application_status"), index=True
    )
    status_reason: Mapped[str | None] = mapped_column(String(500))
    missing_sources: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    decision_id: Mapped[uuid.UUID | None] = mapped_column()
    approved_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    annual_rate: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column()


class IdempotencyRecord(TenantOwned, Base):
    """A stored response to an `Idempotency-Key` request, per client and operation."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "caller", "operation", "key"),)

    caller: Mapped[str] = mapped_column(String(128))
    operation: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class Lead(TenantOwned, Base):
    """A declined customer kept for another product or an account manager (JR/T 0269 8.4.2 d)."""

    __tablename__ = "lending_leads"

    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_applications.id", ondelete="CASCADE")
    )
    decision_id: Mapped[uuid.UUID | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    referral: Mapped[str] = mapped_column(String(32))  # alternative_products | account_manager
    suggested_products: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    status: Mapped[LeadStatus] = mapped_column(_enum(LeadStatus, "lead_status"))
