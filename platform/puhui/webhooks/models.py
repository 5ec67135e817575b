"""The partner-event outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned

__all__ = ["PartnerEvent"]


class PartnerEvent(TenantOwned, Base):
    """One event for one partner tenant, e.g. ``consent.revoked``, ``application.approved``."""

    __tablename__ = "partner_events"
    __table_args__ = (Index("ix_partner_events_undelivered", "delivered_at", "occurred_at"),)

    event_type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column()
    subject: Mapped[str] = mapped_column(String(200))  # e.g. "consent:<uuid>"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    delivered_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
