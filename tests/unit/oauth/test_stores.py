"""In-memory replay cache and pushed-request store: expiry, bounds, failing closed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from puhui.clock import FrozenClock
from puhui.oauth.par import AuthorizationRequest, PushedAuthorizationRequest
from puhui.oauth.stores import MemoryPushedRequestStore, MemoryReplayCache, StoreFull


def test_replay_cache_remembers_until_expiry(frozen_clock: FrozenClock) -> None:
    cache = MemoryReplayCache()
    until = frozen_clock.now() + timedelta(seconds=60)
    assert asyncio.run(cache.remember("jti-1", until))
    assert not asyncio.run(cache.remember("jti-1", until))
    frozen_clock.advance(timedelta(seconds=60))
    assert asyncio.run(cache.remember("jti-1", until + timedelta(seconds=60)))


def test_replay_cache_fails_closed_when_full_of_live_entries(frozen_clock: FrozenClock) -> None:
    cache = MemoryReplayCache(max_entries=2)
    until = frozen_clock.now() + timedelta(seconds=60)
    asyncio.run(cache.remember("a", until))
    asyncio.run(cache.remember("b", until))
    with pytest.raises(StoreFull):
        asyncio.run(cache.remember("c", until))
    assert not asyncio.run(cache.remember("a", until))  # still remembered, never evicted early
    frozen_clock.advance(timedelta(seconds=61))
    assert asyncio.run(cache.remember("c", frozen_clock.now() + timedelta(seconds=5)))
    assert len(cache) == 1


def _pushed(uri: str, frozen_clock: FrozenClock, seconds: int) -> PushedAuthorizationRequest:
    request = AuthorizationRequest(
        client_id="c", redirect_uri="https://a.example/cb", scope=frozenset(), code_challenge="x"
    )
    now = frozen_clock.now()
    return PushedAuthorizationRequest(uri, request, now, now + timedelta(seconds=seconds))


def test_pushed_request_store_takes_once_and_purges_expired(frozen_clock: FrozenClock) -> None:
    store = MemoryPushedRequestStore(max_entries=2)
    asyncio.run(store.put(_pushed("u1", frozen_clock, 10)))
    asyncio.run(store.put(_pushed("u2", frozen_clock, 90)))
    with pytest.raises(StoreFull):
        asyncio.run(store.put(_pushed("u3", frozen_clock, 90)))
    frozen_clock.advance(timedelta(seconds=10))
    asyncio.run(store.put(_pushed("u3", frozen_clock, 90)))  # u1 expired and made room
    assert asyncio.run(store.take("u1")) is None
    taken = asyncio.run(store.take("u2"))
    assert taken is not None
    assert taken.request_uri == "u2"
    assert asyncio.run(store.take("u2")) is None
    assert len(store) == 1
