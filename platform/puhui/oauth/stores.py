"""Async store Protocols the OAuth primitives need, with bounded, expiring in-memory versions.

The in-memory stores serve one process (embedded mode and tests); scale mode plugs in Redis
or database implementations of the same Protocols. Both fail closed when full: a replay
cache that forgot entries early would let a replay through.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from puhui.clock import utcnow

if TYPE_CHECKING:
    from puhui.oauth.par import PushedAuthorizationRequest

__all__ = [
    "MemoryPushedRequestStore",
    "MemoryReplayCache",
    "PushedRequestStore",
    "ReplayCache",
    "StoreFull",
]


class StoreFull(RuntimeError):
    """An in-memory store reached its bound with unexpired entries; the request is refused."""


class ReplayCache(Protocol):
    """Remembers one-time identifiers (`jti` of DPoP proofs and client assertions)."""

    async def remember(self, key: str, expires_at: datetime) -> bool:
        """Atomically record `key` until `expires_at`; False if it was already recorded.

        Redis: `SET key 1 NX PXAT <expires_at ms>`.
        """
        ...


class PushedRequestStore(Protocol):
    """Holds pushed authorization requests until their single use (RFC 9126)."""

    async def put(self, request: PushedAuthorizationRequest) -> None: ...

    async def take(self, request_uri: str) -> PushedAuthorizationRequest | None:
        """Atomically remove and return the request (Redis: `GETDEL`); None if absent."""
        ...


class _ExpiringKeys:
    """A bounded set of keys that each vanish at their own expiry time."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self.expiry: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []

    def purge(self, now: datetime) -> list[str]:
        """Drop expired keys; returns them so a store can drop what it keeps alongside."""
        gone: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            if self.expiry.get(key) == expires_at:
                del self.expiry[key]
                gone.append(key)
        return gone

    def live(self, key: str, now: datetime) -> bool:
        expires_at = self.expiry.get(key)
        return expires_at is not None and expires_at > now

    def add(self, key: str, expires_at: datetime, now: datetime) -> list[str]:
        """Record `key` until `expires_at`; returns the keys purged to make room."""
        gone = self.purge(now)
        if key not in self.expiry and len(self.expiry) >= self.max_entries:
            raise StoreFull(f"store holds {self.max_entries} live entries")
        self.expiry[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        return gone

    def remove(self, key: str) -> None:
        self.expiry.pop(key, None)  # its heap entry is skipped when it surfaces


class MemoryReplayCache:
    """In-process `ReplayCache`: expiring, bounded, failing closed with `StoreFull`."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._keys = _ExpiringKeys(max_entries)

    def __len__(self) -> int:
        return len(self._keys.expiry)

    async def remember(self, key: str, expires_at: datetime) -> bool:
        # No await inside: check-and-set is atomic on the event loop.
        now = utcnow()
        if self._keys.live(key, now):
            return False
        if expires_at <= now:
            return True  # nothing to remember: the identifier is already outside every window
        self._keys.add(key, expires_at, now)
        return True


class MemoryPushedRequestStore:
    """In-process `PushedRequestStore`: expiring, bounded, single-use `take`."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._keys = _ExpiringKeys(max_entries)
        self._requests: dict[str, PushedAuthorizationRequest] = {}

    def __len__(self) -> int:
        return len(self._keys.expiry)

    async def put(self, request: PushedAuthorizationRequest) -> None:
        now = utcnow()
        for expired_uri in self._keys.add(request.request_uri, request.expires_at, now):
            self._requests.pop(expired_uri, None)
        self._requests[request.request_uri] = request

    async def take(self, request_uri: str) -> PushedAuthorizationRequest | None:
        request = self._requests.pop(request_uri, None)
        self._keys.remove(request_uri)
        return request
