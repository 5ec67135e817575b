"""Security alert views."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from puhui.security.models import AlertKind, AlertStatus

__all__ = ["AlertAcknowledge", "SecurityAlertRead"]


class SecurityAlertRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    raised_at: datetime
    kind: AlertKind
    status: AlertStatus
    tenant_id: uuid.UUID | None
    client_id: str | None
    source_ip: str | None
    occurrences: int
    window_seconds: int
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None
    note: str | None


class AlertAcknowledge(msgspec.Struct, kw_only=True):
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""
