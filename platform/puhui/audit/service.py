"""The one audit call for domain events (in the caller's unit of work), and the row builder the
gateway uses for API calls and security events (sent to the group-commit writer)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit.models import AuditRecord
from puhui.audit.writer import PENDING_KEY
from puhui.clock import utcnow
from puhui.observability import current_request_id
from puhui.tenancy.subject import AuthSubject

__all__ = ["record_event"]


def record_event(
    session: AsyncSession,
    action: str,
    *,
    subject: AuthSubject | None = None,
    outcome: str = "success",
    target_tenant_id: uuid.UUID | None = None,
    target: str | None = None,
    api_id: str | None = None,
    client_ip: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    actor_tenant_id: uuid.UUID | None = None,
    actor_member_id: uuid.UUID | None = None,
) -> AuditRecord:
    """Add an audit record to the caller's unit of work (it commits with the change it records).

    The row is written unsealed; after the commit the audit writer gives it the next place in
    the day's hash chain, so domain events and API calls share one sequence.
    """
    record = AuditRecord(
        occurred_at=utcnow(),
        action=action,
        outcome=outcome,
        actor_tenant_id=subject.tenant_id if subject else actor_tenant_id,
        actor_member_id=subject.member_id if subject else actor_member_id,
        actor_client_id=subject.client_id if subject else None,
        target_tenant_id=target_tenant_id,
        target=target,
        api_id=api_id,
        consent_id=subject.consent_id if subject else None,
        request_id=current_request_id(),
        client_ip=client_ip,
        reason=reason,
        details=details or {},
    )
    session.add(record)
    session.info[PENDING_KEY] = True
    return record
