"""The consent gate of every collection: a sync, push or import names a consent (JR/T 0269 6.1).

The consent domain turns a stored consent into the :class:`connectors.consent.ConsentGrant`
connectors understand; this module is the one place the scenario domain asks for it. A partner
collects only under consents it obtained itself: someone else's consent id is refused exactly
like an unknown one, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from connectors.consent import ConsentGrant
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.consent.grants import consent_grant_for
from puhui.consent.models import Consent
from puhui.db.session import tenant_bypass
from puhui.errors import ProblemError, register_problem

__all__ = ["CONSENT_REFUSED", "GrantLookup", "consent_grant"]

GrantLookup = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[ConsentGrant]]
"""(session, consent id, collecting tenant) → the grant; raises ProblemError when refused."""

CONSENT_REFUSED = register_problem(
    "consent-refused",
    "Consent refused",
    403,
    "The named consent is unknown, not this partner's, not authorised, or does not cover this "
    "collection.",
)


async def consent_grant(
    session: AsyncSession, consent_id: uuid.UUID, tenant_id: uuid.UUID
) -> ConsentGrant:
    """The grant for ``consent_id`` if the collecting tenant obtained it; else refused."""
    with tenant_bypass(session, reason="scenario.consent_owner"):
        owner = (
            await session.execute(select(Consent.tenant_id).where(Consent.id == consent_id))
        ).scalar_one_or_none()
    if owner != tenant_id:
        raise ProblemError(f"No authorised consent {consent_id}.", problem=CONSENT_REFUSED)
    return await consent_grant_for(session, consent_id)
