"""Audit records. Not TenantOwned: operator access is recorded against both tenants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base

__all__ = ["AuditRecord"]


class AuditRecord(Base):
    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_occurred_at", "occurred_at"),)

    occurred_at: Mapped[datetime] = mapped_column()
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_member_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_client_id: Mapped[str | None] = mapped_column(String(64))
    target_tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    api_id: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
