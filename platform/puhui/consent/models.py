"""Consent, its append-only history and its receipts (JR/T 0269 6.3.2 e; ISO/IEC 29184).

A consent is owned by the partner tenant that asked for it; the customer reaches it through the
consent centre (an audited tenant bypass filtered by the customer's own id).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned, Versioned

__all__ = [
    "Consent",
    "ConsentEvent",
    "ConsentHistory",
    "ConsentPurpose",
    "ConsentReceipt",
    "ConsentStatus",
    "ConsentUse",
    "HistoryIsAppendOnly",
]


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class ConsentStatus(enum.StrEnum):
    AWAITING_AUTHORISATION = "awaiting_authorisation"
    AUTHORISED = "authorised"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REJECTED = "rejected"


class ConsentPurpose(enum.StrEnum):
    CREDIT_ASSESSMENT = "credit_assessment"
    POST_LOAN_MONITORING = "post_loan_monitoring"
    MARKETING = "marketing"  # always a consent of its own, never bundled or pre-ticked


class ConsentEvent(enum.StrEnum):
    """Why a receipt was issued."""

    GRANTED = "granted"
    AMENDED = "amended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Consent(TenantOwned, Versioned, Base):
    """One customer's consent for one partner client: sources, items, purposes, validity, use."""

    __tablename__ = "consents"

    client_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), index=True)
    customer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer_users.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[ConsentStatus] = mapped_column(
        _enum(ConsentStatus, "consent_status"), index=True
    )
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"source": "tax", "items": ["filings"], "lookback_months": 24}, ...]
    data_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    validity_days: Mapped[int] = mapped_column()
    uses_per_day: Mapped[int] = mapped_column()
    authorise_by: Mapped[datetime] = mapped_column()
    granted_at: Mapped[datetime | None] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_by: Mapped[str | None] = mapped_column(String(16))  # customer | partner | system


class ConsentHistory(TenantOwned, Base):
    """One status change of a consent. Append-only: rows are never updated or deleted."""

    __tablename__ = "consent_history"

    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consents.id", ondelete="RESTRICT"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # customer | partner | system
    occurred_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(200))


class ConsentReceipt(TenantOwned, Base):
    """A Kantara-style consent receipt, issued on grant, amendment, revocation and expiry."""

    __tablename__ = "consent_receipts"

    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consents.id", ondelete="RESTRICT"), index=True
    )
    event: Mapped[ConsentEvent] = mapped_column(_enum(ConsentEvent, "consent_receipt_event"))
    issued_at: Mapped[datetime] = mapped_column()
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical document
    signature: Mapped[str] = mapped_column(String(64))  # keyed HMAC of the digest


class ConsentUse(Base):
    """How often a consent was used on one bank day (China Standard Time): enforces use frequency.

    Only the database fallback of the counter (without Redis); one row per consent and day,
    incremented atomically by the consent step of the gateway.
    """

    __tablename__ = "consent_uses"
    __table_args__ = (UniqueConstraint("consent_id", "day"),)

    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consents.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    uses: Mapped[int] = mapped_column()


class HistoryIsAppendOnly(RuntimeError):
    """Someone tried to change or delete consent history or a receipt."""


def _refuse_change(_mapper: Any, _connection: Any, target: object) -> None:
    raise HistoryIsAppendOnly(f"{type(target).__name__} rows are append-only")


for _model in (ConsentHistory, ConsentReceipt):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
