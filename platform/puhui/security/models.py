"""Security alerts raised by the anomaly monitor. Not TenantOwned: bank operators triage them
across partners; the partner learns of its own through a partner event (webhook)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base

__all__ = ["AlertKind", "AlertStatus", "SecurityAlert"]


class AlertKind(enum.StrEnum):
    AUTHENTICATION_FAILURES = "authentication_failures"
    SIGNATURE_FAILURES = "signature_failures"
    REPLAY_ATTEMPTS = "replay_attempts"
    QUOTA_EXHAUSTION = "quota_exhaustion"


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class SecurityAlert(Base):
    """A spike of one kind of security failure from one client (or address) within a window."""

    __tablename__ = "security_alerts"

    raised_at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, "alert_kind"))
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, "alert_status"), index=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    occurrences: Mapped[int] = mapped_column(Integer)
    window_seconds: Mapped[int] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(500))
