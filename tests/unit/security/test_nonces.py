"""Anti-replay nonce stores: first use accepted, replays refused within the TTL."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest

from puhui.clock import FrozenClock
from puhui.security.nonces import (
    MemoryNonceStore,
    NonceCapacityExceeded,
    RedisNonceStore,
    nonce_key,
)


def test_memory_store_accepts_once_then_again_after_expiry(frozen_clock: FrozenClock) -> None:
    store = MemoryNonceStore()

    async def scenario() -> list[bool]:
        first = await store.remember("client:n1", 60)
        replay = await store.remember("client:n1", 60)
        other = await store.remember("client:n2", 60)
        frozen_clock.advance(timedelta(seconds=61))
        after_expiry = await store.remember("client:n1", 60)
        return [first, replay, other, after_expiry]

    assert asyncio.run(scenario()) == [True, False, True, True]


def test_memory_store_sweeps_expired_entries(frozen_clock: FrozenClock) -> None:
    store = MemoryNonceStore()
    for i in range(100):
        assert store.remember_now(f"n{i}", 10)
    frozen_clock.advance(timedelta(seconds=11))
    assert store.remember_now("fresh", 10)
    assert len(store) == 1


def test_full_memory_store_fails_closed_rather_than_forgetting(frozen_clock: FrozenClock) -> None:
    store = MemoryNonceStore(max_entries=3)
    for i in range(3):
        store.remember_now(f"n{i}", 300)
    with pytest.raises(NonceCapacityExceeded):
        store.remember_now("n3", 300)
    assert not store.remember_now("n0", 300)  # live nonces are still remembered
    frozen_clock.advance(timedelta(seconds=301))
    assert store.remember_now("n3", 300)


def test_nonce_key_is_unambiguous() -> None:
    assert nonce_key("a:b", "c") != nonce_key("a", "b:c")


def test_ttl_must_be_positive(frozen_clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryNonceStore().remember_now("x", 0)


def test_redis_store_accepts_each_nonce_exactly_once_under_concurrency(redis_url: str) -> None:
    from redis.asyncio import Redis

    async def scenario() -> tuple[list[bool], int | None]:
        client = Redis.from_url(redis_url)
        try:
            store = RedisNonceStore(client, prefix=f"test:nonce:{secrets.token_hex(4)}:")
            key = nonce_key("client", secrets.token_hex(8))
            results = await asyncio.gather(*(store.remember(key, 30) for _ in range(50)))
            ttl = await client.ttl(f"{store._prefix}{key}")
            return list(results), ttl
        finally:
            await client.aclose()

    results, ttl = asyncio.run(scenario())
    assert results.count(True) == 1
    assert ttl is not None
    assert 0 < ttl <= 30
