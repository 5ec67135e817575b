"""The Redis stores keep their promises across clients (as across workers): once, and in time."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest

from puhui.clock import utcnow
from puhui.oauth.par import AuthorizationRequest, PushedAuthorizationRequest
from puhui.oauth.redis_stores import (
    RedisPushedRequestStore,
    RedisReplayCache,
    RedisRevocationList,
)

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not os.environ.get("PUHUI_TEST_REDIS_URL"), reason="PUHUI_TEST_REDIS_URL is not set"
    ),
]


@pytest.fixture
async def redis_pair() -> AsyncIterator[tuple[Any, Any]]:
    """Two independent connections: what two workers would hold."""
    from redis.asyncio import Redis

    url = os.environ["PUHUI_TEST_REDIS_URL"]
    first, second = Redis.from_url(url), Redis.from_url(url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_jti_is_accepted_once_across_workers(redis_pair: tuple[Any, Any]) -> None:
    namespace = f"test:{secrets.token_hex(4)}:"
    one, two = (RedisReplayCache(r, namespace) for r in redis_pair)
    key, until = "dpop:jkt:jti-1", utcnow() + timedelta(seconds=30)
    assert await one.remember(key, until) is True
    assert await two.remember(key, until) is False
    assert await two.remember("dpop:jkt:jti-2", until) is True


async def test_a_pushed_request_is_taken_once_and_intact(redis_pair: tuple[Any, Any]) -> None:
    namespace = f"test:{secrets.token_hex(4)}:"
    one, two = (RedisPushedRequestStore(r, namespace) for r in redis_pair)
    now = utcnow().replace(microsecond=0)
    pushed = PushedAuthorizationRequest(
        request_uri="urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(8),
        request=AuthorizationRequest(
            client_id="ph_x",
            redirect_uri="https://partner.example/cb",
            scope=frozenset({"a", "b"}),
            code_challenge="c" * 43,
            state="s",
            authorization_details=({"type": "tax", "months": 24},),
            consent_id="c-1",
            dpop_jkt="j" * 43,
        ),
        created_at=now,
        expires_at=now + timedelta(seconds=90),
    )
    await one.put(pushed)
    assert await two.take(pushed.request_uri) == pushed
    assert await one.take(pushed.request_uri) is None


async def test_revocations_are_seen_by_every_worker_until_expiry(
    redis_pair: tuple[Any, Any],
) -> None:
    namespace = f"test:{secrets.token_hex(4)}:"
    one, two = (RedisRevocationList(r, namespace) for r in redis_pair)
    await one.revoke("jti-live", utcnow() + timedelta(seconds=30))
    await one.revoke("jti-dead", utcnow() - timedelta(seconds=1))
    assert await two.is_revoked("jti-live") is True
    assert await two.is_revoked("jti-other") is False
    await anyio.sleep(0.05)
    assert await two.is_revoked("jti-dead") is False  # already expired: nothing to remember
