"""The access-token revocation list (RFC 7009): jti -> revoked until the token would expire.

Checked on every resource call, also on verified-token cache hits, so a revoked token stops at
once in every worker (the Redis list is shared; the memory list serves one process).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from puhui.clock import utcnow
from puhui.oauth.stores import StoreFull

__all__ = ["MemoryRevocationList", "RevocationList"]


class RevocationList(Protocol):
    async def revoke(self, jti: str, expires_at: datetime) -> None:
        """Remember `jti` as revoked until `expires_at` (after which the token is dead anyway)."""
        ...

    async def is_revoked(self, jti: str) -> bool: ...


class MemoryRevocationList:
    """One process's revocation list, bounded; fails closed when full of live entries."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._max_entries = max_entries
        self._entries: dict[str, datetime] = {}

    async def revoke(self, jti: str, expires_at: datetime) -> None:
        now = utcnow()
        if len(self._entries) >= self._max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v > now}
            if len(self._entries) >= self._max_entries:
                raise StoreFull("revocation list is full")
        self._entries[jti] = expires_at

    async def is_revoked(self, jti: str) -> bool:
        expires_at = self._entries.get(jti)
        if expires_at is None:
            return False
        if expires_at <= utcnow():
            self._entries.pop(jti, None)
            return False
        return True
