"""Every query of the OAuth server: clients, grants (codes) and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from puhui.db.repository import Repository
from puhui.oauth.models import OAuthClient, OAuthGrant, RefreshToken

__all__ = ["ClientRepository", "GrantRepository", "RefreshTokenRepository"]

# Lookups by a globally unique credential (client_id, code hash, token hash) happen before the
# caller's tenant is known; the row found then names the tenant the rest of the request uses.
_ALL_TENANTS = {"include_all_tenants_checked": True}


class ClientRepository(Repository[OAuthClient]):
    model = OAuthClient

    async def by_client_id(self, client_id: str) -> OAuthClient | None:
        """The client with this public identifier, whichever tenant owns it (authentication)."""
        stmt = select(OAuthClient).where(OAuthClient.client_id == client_id)
        result = await self.session.execute(stmt, execution_options=_ALL_TENANTS)
        return result.scalar_one_or_none()

    async def page(self, limit: int, offset: int) -> Sequence[OAuthClient]:
        return await self.list(limit=limit, offset=offset)


class GrantRepository(Repository[OAuthGrant]):
    model = OAuthGrant

    async def by_code_hash(self, code_hash: str) -> OAuthGrant | None:
        stmt = select(OAuthGrant).where(OAuthGrant.code_hash == code_hash)
        result = await self.session.execute(stmt, execution_options=_ALL_TENANTS)
        return result.scalar_one_or_none()

    async def claim_code(self, grant_id: uuid.UUID, now: datetime) -> bool:
        """Mark the code used, once: True only for the one request that got there first."""
        result = await self.session.execute(
            update(OAuthGrant)
            .where(OAuthGrant.id == grant_id, OAuthGrant.code_used_at.is_(None))
            .values(code_used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def of_consent(self, consent_id: uuid.UUID) -> Sequence[OAuthGrant]:
        result = await self.session.execute(
            select(OAuthGrant).where(OAuthGrant.consent_id == consent_id)
        )
        return result.scalars().all()


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        result = await self.session.execute(stmt, execution_options=_ALL_TENANTS)
        return result.scalar_one_or_none()

    async def rotate(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Mark the token used, once: a second use is a replay (reuse detection)."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def of_grant(self, grant_id: uuid.UUID) -> Sequence[RefreshToken]:
        result = await self.session.execute(
            select(RefreshToken).where(RefreshToken.grant_id == grant_id)
        )
        return result.scalars().all()
