"""Operator work on security alerts: list and acknowledge (audited)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.errors import Conflict, NotFound
from puhui.security.models import AlertStatus, SecurityAlert
from puhui.tenancy.subject import AuthSubject

__all__ = ["SecurityAlertService"]


class SecurityAlertService:
    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject

    async def list(
        self, status: AlertStatus | None, limit: int, offset: int
    ) -> Sequence[SecurityAlert]:
        stmt = select(SecurityAlert)
        if status is not None:
            stmt = stmt.where(SecurityAlert.status == status)
        stmt = stmt.order_by(SecurityAlert.raised_at.desc(), SecurityAlert.id)
        return (await self.session.execute(stmt.limit(limit).offset(offset))).scalars().all()

    async def acknowledge(self, alert_id: uuid.UUID, note: str) -> SecurityAlert:
        alert = await self.session.get(SecurityAlert, alert_id)
        if alert is None:
            raise NotFound()
        if alert.status is AlertStatus.ACKNOWLEDGED:
            raise Conflict("The alert is already acknowledged.")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = self.subject.member_id
        alert.note = note or None
        record_event(
            self.session,
            "security.alert_acknowledged",
            subject=self.subject,
            target_tenant_id=alert.tenant_id,
            target=f"security_alert:{alert.id}",
            reason=note or None,
        )
        return alert
