"""Anti-replay nonce stores (JR/T 0185-2020): a nonce is accepted once within its window."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Final, Protocol

from puhui.clock import utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "MemoryNonceStore",
    "NonceCapacityExceeded",
    "NonceStore",
    "RedisNonceStore",
    "nonce_key",
]


class NonceStore(Protocol):
    """Remembers keys for a while; `remember` is True only the first time within the TTL."""

    async def remember(self, key: str, ttl_seconds: int) -> bool: ...


class NonceCapacityExceeded(RuntimeError):
    """The in-memory store is full of live nonces; refusing is safer than forgetting one."""


def nonce_key(keyid: str, nonce: str) -> str:
    """An unambiguous store key for a client's nonce (length prefix: no `a:b`+`c` vs `a`+`b:c`)."""
    return f"{len(keyid)}:{keyid}:{nonce}"


class MemoryNonceStore:
    """Bounded, expiring, O(1) amortised store for a single worker (embedded mode).

    Entries are kept in insertion order; expired ones are swept from the front as new ones
    arrive. When `max_entries` live nonces are held it fails closed (NonceCapacityExceeded)
    instead of evicting a live nonce, which would re-open a replay window.
    """

    __slots__ = ("_entries", "_max")

    def __init__(self, max_entries: int = 1_000_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._entries: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def remember_now(self, key: str, ttl_seconds: int) -> bool:
        """Synchronous core of `remember` (no I/O); usable from sync code and benchmarks."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = utcnow().timestamp()
        entries = self._entries
        while entries:  # sweep expired entries at the front
            oldest_key, oldest_expiry = next(iter(entries.items()))
            if oldest_expiry > now:
                break
            del entries[oldest_key]
        expiry = entries.get(key)
        if expiry is not None:
            if expiry > now:
                return False
            del entries[key]
        if len(entries) >= self._max:
            raise NonceCapacityExceeded("nonce store is full")
        entries[key] = now + ttl_seconds
        return True

    async def remember(self, key: str, ttl_seconds: int) -> bool:
        return self.remember_now(key, ttl_seconds)


_DEFAULT_PREFIX: Final = "puhui:nonce:"


class RedisNonceStore:
    """Shared store for many workers (scale mode): one `SET key 1 NX EX ttl` per nonce."""

    __slots__ = ("_prefix", "_redis")

    def __init__(self, redis: Redis, prefix: str = _DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def remember(self, key: str, ttl_seconds: int) -> bool:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        stored = await self._redis.set(self._prefix + key, b"1", nx=True, ex=ttl_seconds)
        return bool(stored)
