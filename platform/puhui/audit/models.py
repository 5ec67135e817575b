"""Audit records and per-day chain heads. Not TenantOwned: operator access is recorded against
both tenants, and the chain spans every tenant (JR/T 0185-2020 audit logging)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base

__all__ = ["AuditDayHead", "AuditRecord"]


class AuditRecord(Base):
    """One API call or security-relevant event, sealed into its day's hash chain.

    ``day``/``seq``/``chain_hash`` are NULL until the audit writer seals the row (domain events
    written in a caller's unit of work are sealed by the writer right after they commit).
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_occurred_at", "occurred_at"),
        UniqueConstraint("day", "seq"),
    )

    occurred_at: Mapped[datetime] = mapped_column()
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_member_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_client_id: Mapped[str | None] = mapped_column(String(64))
    target_tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    api_id: Mapped[str | None] = mapped_column(String(32))
    api_level: Mapped[str | None] = mapped_column(String(2))
    consent_id: Mapped[uuid.UUID | None] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_us: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    day: Mapped[date | None] = mapped_column(Date)
    seq: Mapped[int | None] = mapped_column(Integer)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


class AuditDayHead(Base):
    """The anchored head of one day's chain: last sequence number and hash (catches truncation).

    ``archived_at``/``archive_sha256`` are set when retention moved the day to an archive file.
    """

    __tablename__ = "audit_day_heads"

    day: Mapped[date] = mapped_column(Date, unique=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    archived_at: Mapped[datetime | None] = mapped_column()
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
