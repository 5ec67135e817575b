"""Tenant and Member tables."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned, Versioned

__all__ = [
    "BANK_ROLES",
    "PARTNER_ROLES",
    "Member",
    "MemberStatus",
    "Tenant",
    "TenantKind",
    "TenantStatus",
]


class TenantKind(enum.StrEnum):
    BANK = "bank"
    SCENARIO_PROVIDER = "scenario_provider"
    CHANNEL_APP = "channel_app"


class TenantStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class MemberStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


PARTNER_ROLES = frozenset({"owner", "admin", "developer", "viewer"})
BANK_ROLES = frozenset({"operator", "risk_officer", "auditor"}) | PARTNER_ROLES


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class Tenant(Versioned, Base):
    """A partner organisation (or the bank itself). JR/T 0269 3: partner = tenant."""

    __tablename__ = "tenants"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TenantKind] = mapped_column(_enum(TenantKind, "tenant_kind"))
    status: Mapped[TenantStatus] = mapped_column(_enum(TenantStatus, "tenant_status"))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    scenario_type: Mapped[str | None] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(32), default="sandbox")
    is_sandbox: Mapped[bool] = mapped_column(default=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))


class Member(TenantOwned, Versioned, Base):
    """A person who works in a tenant: signs in to the portal, holds roles there."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("email"),)

    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[MemberStatus] = mapped_column(_enum(MemberStatus, "member_status"))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
