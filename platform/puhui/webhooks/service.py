"""The one call that records a partner event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.db.session import allow_cross_tenant_write
from puhui.webhooks.models import PartnerEvent

__all__ = ["record_partner_event"]


def record_partner_event(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    subject: str,
    payload: dict[str, Any],
) -> PartnerEvent:
    """Add the event to the caller's unit of work: it exists if and only if the change commits.

    The owning tenant may differ from the caller's (a customer revoking consent notifies the
    partner), so the row is explicitly allowed to be written for that tenant.
    """
    event = PartnerEvent(
        tenant_id=tenant_id,
        event_type=event_type,
        subject=subject,
        payload=payload,
        occurred_at=utcnow(),
    )
    allow_cross_tenant_write(event, f"partner_event:{event_type}")
    session.add(event)
    return event
