"""Build the connectors' ``ConsentGrant`` from a stored consent (JR/T 0269 6.1, 6.3.2 e)."""

from __future__ import annotations

import uuid

from connectors.consent import ConsentGrant
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.consent.enforce import CONSENT_INACTIVE
from puhui.consent.gate import consent_is_active
from puhui.consent.models import Consent, ConsentStatus
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.errors import ProblemError

__all__ = ["consent_grant_for"]


async def consent_grant_for(
    session: AsyncSession, consent_id: uuid.UUID, *, db: SessionFactory | None = None
) -> ConsentGrant:
    """The grant for an authorised consent; ``is_still_valid`` re-reads its state on every call.

    Pass ``db`` when the grant outlives ``session`` (bulk pulls): each re-check then opens its own
    short unit of work instead of using ``session``.
    """
    with tenant_bypass(session, reason="consent.grant"):
        consent = await session.get(Consent, consent_id)
    if consent is None or consent.status is not ConsentStatus.AUTHORISED:
        raise ProblemError("The consent is not authorised.", problem=CONSENT_INACTIVE)
    if consent.valid_until is None:
        raise ProblemError("The consent has no validity.", problem=CONSENT_INACTIVE)

    async def is_still_valid() -> bool:
        if db is None:
            return await consent_is_active(session, consent_id)
        async with db.unit_of_work() as own:
            return await consent_is_active(own, consent_id)

    return ConsentGrant(
        consent_id=str(consent.id),
        subject_uscc=consent.enterprise_uscc,
        data_items={
            str(entry["source"]): frozenset(str(item) for item in entry["items"])
            for entry in consent.data_items
        },
        valid_until=consent.valid_until,
        is_still_valid=is_still_valid,
    )
