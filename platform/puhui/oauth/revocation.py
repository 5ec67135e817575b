"""The access-token revocation list (RFC 7009): jti -> revoked until the token would expire,
and revoked clients: every token of the client stops until its longest-lived token has expired.

Checked on every resource call, also on verified-token cache hits, so a revoked token or client
stops at once in every worker (the Redis list is shared; the memory list serves one process).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

from puhui.clock import utcnow
from puhui.oauth.jwt_tokens import MAX_ACCESS_TOKEN_LIFETIME
from puhui.oauth.stores import StoreFull

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["CLIENT_REVOCATION_SPAN", "MemoryRevocationList", "RevocationList"]

# A revoked client's marker outlives every access token issued before the revocation; after it,
# the client's row (status revoked) refuses new tokens and the resource side's directory too.
CLIENT_REVOCATION_SPAN: Final = MAX_ACCESS_TOKEN_LIFETIME + timedelta(seconds=60)


class RevocationList(Protocol):
    """`session`: the caller's open unit of work, if any. A database-backed list writes in it (the
    revocation commits with the change that caused it, and SQLite's one writer never waits on
    itself); memory and Redis lists ignore it."""

    async def revoke(
        self, jti: str, expires_at: datetime, *, session: AsyncSession | None = None
    ) -> None:
        """Remember `jti` as revoked until `expires_at` (after which the token is dead anyway)."""
        ...

    async def revoke_client(self, client_id: str, *, session: AsyncSession | None = None) -> None:
        """Stop every access token of `client_id` now (for `CLIENT_REVOCATION_SPAN`)."""
        ...

    async def is_revoked(self, jti: str, client_id: str | None = None) -> bool:
        """The token `jti` is revoked, or (when given) its client is."""
        ...


class MemoryRevocationList:
    """One process's revocation list, bounded; fails closed when full of live entries."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._max_entries = max_entries
        self._entries: dict[str, datetime] = {}

    async def revoke(
        self, jti: str, expires_at: datetime, *, session: AsyncSession | None = None
    ) -> None:
        now = utcnow()
        if len(self._entries) >= self._max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v > now}
            if len(self._entries) >= self._max_entries:
                raise StoreFull("revocation list is full")
        self._entries[jti] = expires_at

    async def revoke_client(self, client_id: str, *, session: AsyncSession | None = None) -> None:
        await self.revoke(_client_key(client_id), utcnow() + CLIENT_REVOCATION_SPAN)

    async def is_revoked(self, jti: str, client_id: str | None = None) -> bool:
        if self._live(jti):
            return True
        return client_id is not None and self._live(_client_key(client_id))

    def _live(self, key: str) -> bool:
        expires_at = self._entries.get(key)
        if expires_at is None:
            return False
        if expires_at <= utcnow():
            self._entries.pop(key, None)
            return False
        return True


def _client_key(client_id: str) -> str:
    return "client:" + client_id  # a jti never starts so: ours are url-safe base64 (no ':')
