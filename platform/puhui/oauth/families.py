"""Revoking a token family: the grant, its refresh tokens and every access token issued from it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.oauth.models import OAuthGrant
from puhui.oauth.repository import GrantRepository
from puhui.oauth.runtime import OAuthRuntime

__all__ = ["revoke_consent_grants", "revoke_family"]


async def revoke_family(
    session: AsyncSession,
    runtime: OAuthRuntime,
    grant: OAuthGrant,
    reason: str,
    *,
    list_access_tokens: bool = True,
) -> None:
    """Revoke the grant (its refresh tokens die with it) and put its access tokens on the list.

    ``list_access_tokens=False`` when something else already stops them on every call (a
    withdrawn consent: gateway step 9 answers ``consent-revoked``, which tells the partner why).
    """
    now = utcnow()
    for issued in grant.access_tokens if list_access_tokens else ():
        expires_at = datetime.fromtimestamp(int(issued["exp"]), UTC)
        if expires_at > now:
            await runtime.revocations.revoke(str(issued["jti"]), expires_at, session=session)
    if grant.revoked_at is None:
        grant.revoked_at = now
        record_event(
            session,
            "oauth.grant_revoked",
            actor_tenant_id=grant.tenant_id,
            target_tenant_id=grant.tenant_id,
            target=f"oauth_grant:{grant.id}",
            reason=reason,
            details={"client_id": grant.client_id, "consent_id": str(grant.consent_id)},
        )


async def revoke_consent_grants(
    session: AsyncSession, runtime: OAuthRuntime, consent_id: uuid.UUID
) -> int:
    """On consent revocation or expiry: revoke every token family issued under it.

    Refresh tokens die with their grant; the access tokens stop at the consent step on their
    next call in every worker (the consent board), and introspection reports them inactive.
    """
    grants = await GrantRepository(session).of_consent(consent_id)
    for grant in grants:
        await revoke_family(session, runtime, grant, "consent withdrawn", list_access_tokens=False)
    return len(grants)
