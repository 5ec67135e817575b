"""The OAuth server's consent hooks: admit a pushed request's consent, and check liveness.

Called by ``puhui.oauth`` at /oauth/par (admit) and at code exchange and refresh (liveness).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentStatus
from puhui.db.session import tenant_bypass
from puhui.oauth.models import OAuthClient
from puhui.oauth.par import AuthorizationRequestError

__all__ = ["admit_pushed_request", "consent_is_active", "parse_consent_id"]


def parse_consent_id(consent_id: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(consent_id, uuid.UUID):
        return consent_id
    try:
        return uuid.UUID(consent_id)
    except (ValueError, AttributeError):
        return None


async def _load(session: AsyncSession, consent_id: uuid.UUID) -> Consent | None:
    # By id, whatever tenant the caller's session is bound to; ownership is checked explicitly.
    with tenant_bypass(session, reason="consent.gate"):
        stmt = select(Consent).where(Consent.id == consent_id)
        return (await session.execute(stmt)).scalar_one_or_none()


async def admit_pushed_request(session: AsyncSession, client: OAuthClient, consent_id: str) -> None:
    """Refuse a PAR whose consent is not this client's, not awaiting authorisation, or lapsed."""
    parsed = parse_consent_id(consent_id)
    consent = await _load(session, parsed) if parsed is not None else None
    if (
        consent is None
        or consent.tenant_id != client.tenant_id
        or consent.client_id != client.client_id
    ):
        # One answer for "unknown" and "someone else's": no probing of other partners' consents.
        raise AuthorizationRequestError("invalid_request", "consent_id is unknown to this client")
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise AuthorizationRequestError(
            "invalid_request", f"consent is {consent.status.value}, not awaiting authorisation"
        )
    if consent.authorise_by <= utcnow():
        raise AuthorizationRequestError("invalid_request", "consent request has lapsed")


async def consent_is_active(session: AsyncSession, consent_id: uuid.UUID | str) -> bool:
    """True while the consent is authorised and within its validity (code exchange, refresh)."""
    parsed = parse_consent_id(consent_id)
    if parsed is None:
        return False
    consent = await _load(session, parsed)
    return (
        consent is not None
        and consent.status is ConsentStatus.AUTHORISED
        and consent.valid_until is not None
        and consent.valid_until > utcnow()
    )
