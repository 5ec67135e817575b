"""Audit search responses."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import msgspec

__all__ = ["AuditRecordRead"]


class AuditRecordRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    occurred_at: datetime
    action: str
    outcome: str
    actor_tenant_id: uuid.UUID | None
    actor_member_id: uuid.UUID | None
    actor_client_id: str | None
    target_tenant_id: uuid.UUID | None
    target: str | None
    api_id: str | None
    api_level: str | None
    consent_id: uuid.UUID | None
    status_code: int | None
    latency_us: int | None
    request_id: str | None
    client_ip: str | None
    reason: str | None
    details: dict[str, Any]
    day: date | None
    seq: int | None
    chain_hash: str | None
