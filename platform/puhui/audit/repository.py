"""Every select on the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from puhui.audit.models import AuditRecord
from puhui.db.repository import Repository

__all__ = ["AuditRepository"]


class AuditRepository(Repository[AuditRecord]):
    model = AuditRecord

    async def search(
        self,
        *,
        tenant_id: uuid.UUID | None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        api_id: str | None = None,
        outcome: str | None = None,
        request_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[AuditRecord]:
        """Newest first. Audit rows are not TenantOwned (they name two tenants), so a partner's
        view is the rows where it is the actor or the target; None means every tenant."""
        stmt = select(AuditRecord)
        if tenant_id is not None:
            stmt = stmt.where(
                or_(
                    AuditRecord.actor_tenant_id == tenant_id,
                    AuditRecord.target_tenant_id == tenant_id,
                )
            )
        if since is not None:
            stmt = stmt.where(AuditRecord.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(AuditRecord.occurred_at < until)
        for column, value in (
            (AuditRecord.action, action),
            (AuditRecord.api_id, api_id),
            (AuditRecord.outcome, outcome),
            (AuditRecord.request_id, request_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        stmt = (
            stmt.order_by(AuditRecord.occurred_at.desc(), AuditRecord.id)
            .limit(limit)
            .offset(offset)
        )
        return (await self.session.execute(stmt)).scalars().all()
