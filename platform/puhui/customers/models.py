"""Enterprise, CustomerUser, one-time codes and customer sessions (bank-wide, not tenant-owned).

SME customers belong to the bank, not to a partner: a partner only ever sees them through a
consent. Personal data (name, phone, ID number) is C2/C3 and sealed at rest (JR/T 0171-2020).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, Versioned
from puhui.security.sealed import Sealed

__all__ = [
    "CustomerRole",
    "CustomerSession",
    "CustomerStatus",
    "CustomerUser",
    "Enterprise",
    "OneTimeCode",
    "SessionKind",
]


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class CustomerRole(enum.StrEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"
    AUTHORISED_STAFF = "authorised_staff"


class CustomerStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class SessionKind(enum.StrEnum):
    AUTHORIZE = "authorize"  # one /oauth/authorize transaction: login -> code -> consent
    CENTRE = "centre"  # the consent centre after sign-in


class Enterprise(Base):
    """An SME known to the bank by its unified social credit code (GB 32100-2015)."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_representative: Mapped[str] = mapped_column(String(120))


class CustomerUser(Versioned, Base):
    """The legal representative or authorised staff who signs in for an enterprise."""

    __tablename__ = "customer_users"

    enterprise_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[CustomerRole] = mapped_column(_enum(CustomerRole, "customer_role"))
    status: Mapped[CustomerStatus] = mapped_column(_enum(CustomerStatus, "customer_status"))
    name_enc: Mapped[str | None] = mapped_column(String(512))
    phone_enc: Mapped[str | None] = mapped_column(String(512))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    id_number_enc: Mapped[str | None] = mapped_column(String(512))
    id_number_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()

    # C2 personal data, sealed (JR/T 0171-2020 4.2): never stored in clear.
    name = Sealed[str]("name")
    phone = Sealed[str]("phone", index=True)
    id_number = Sealed[str]("id_number", index=True)


class OneTimeCode(Base):
    """A one-time sign-in code: only its keyed hash is kept; it expires and allows few attempts."""

    __tablename__ = "customer_one_time_codes"

    customer_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    consumed_at: Mapped[datetime | None] = mapped_column()


class CustomerSession(Versioned, Base):
    """A customer's browser session; the cookie holds a random token, the row only its hash."""

    __tablename__ = "customer_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[SessionKind] = mapped_column(_enum(SessionKind, "customer_session_kind"))
    stage: Mapped[str] = mapped_column(String(16))  # login | code | consent | active
    customer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer_users.id", ondelete="CASCADE"), index=True
    )
    one_time_code_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer_one_time_codes.id", ondelete="SET NULL")
    )
    # The redeemed pushed authorization request this transaction acts on (authorize only).
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime] = mapped_column(index=True)
