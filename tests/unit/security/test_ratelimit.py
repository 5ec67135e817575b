"""Token bucket plus daily/monthly quotas, in memory and atomically in Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.clock import FrozenClock, set_clock
from puhui.security.ratelimit import MemoryRateLimiter, RatePlan, RedisRateLimiter, _tightest

T = TypeVar("T")

BASIC = RatePlan("basic", burst=5, per_second=1.0, daily_quota=8, monthly_quota=20)


def test_burst_then_refill(frozen_clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter()
    decisions = [limiter.check_now("t1:c1:loans", BASIC) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    refused = decisions[-1]
    assert refused.retry_after == 1
    assert refused.remaining == 0
    frozen_clock.advance(timedelta(seconds=2))
    assert limiter.check_now("t1:c1:loans", BASIC).allowed


def test_keys_are_independent(frozen_clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter()
    for _ in range(5):
        limiter.check_now("a", BASIC)
    assert not limiter.check_now("a", BASIC).allowed
    assert limiter.check_now("b", BASIC).allowed


def test_daily_quota_resets_at_midnight_china_time(frozen_clock: FrozenClock) -> None:
    # frozen at 18:00 CST: 6 hours to the daily reset
    limiter = MemoryRateLimiter()
    plan = RatePlan("q", burst=100, per_second=100.0, daily_quota=3)
    assert all(limiter.check_now("k", plan).allowed for _ in range(3))
    refused = limiter.check_now("k", plan)
    assert not refused.allowed
    assert refused.retry_after == 6 * 3600
    assert refused.ratelimit_header == f'"daily";r=0;t={6 * 3600}'
    frozen_clock.advance(timedelta(hours=6))
    assert limiter.check_now("k", plan).allowed


def test_monthly_quota_spans_days_and_resets_on_the_first(frozen_clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter()
    plan = RatePlan("m", burst=100, per_second=100.0, daily_quota=100, monthly_quota=2)
    assert limiter.check_now("k", plan).allowed
    frozen_clock.advance(timedelta(days=1))
    assert limiter.check_now("k", plan).allowed
    frozen_clock.advance(timedelta(days=1))
    refused = limiter.check_now("k", plan)
    assert not refused.allowed
    # 2026-03-16 18:00 CST -> 2026-04-01 00:00 CST
    expected = int((datetime(2026, 3, 31, 16, tzinfo=UTC) - frozen_clock.now()).total_seconds())
    assert refused.retry_after == expected
    frozen_clock.advance(timedelta(seconds=expected))
    assert limiter.check_now("k", plan).allowed


def test_refused_calls_consume_nothing(frozen_clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter()
    plan = RatePlan("p", burst=1, per_second=1.0, daily_quota=2)
    assert limiter.check_now("k", plan).allowed
    for _ in range(10):
        assert not limiter.check_now("k", plan).allowed  # bucket empty: quota untouched
    frozen_clock.advance(timedelta(seconds=1))
    assert limiter.check_now("k", plan).allowed
    frozen_clock.advance(timedelta(seconds=1))
    assert not limiter.check_now("k", plan).allowed  # now the daily quota is spent


def test_headers_follow_the_ietf_draft(frozen_clock: FrozenClock) -> None:
    decision = MemoryRateLimiter().check_now("k", BASIC)
    assert decision.policy_header == (
        '"burst";q=5;w=5, "daily";q=8;w=86400, "monthly";q=20;w=2678400'
    )
    assert decision.ratelimit_header == '"burst";r=4;t=1'
    assert (decision.remaining, decision.reset_seconds, decision.retry_after) == (4, 1, 0)


def test_invalid_plans_and_costs_are_refused(frozen_clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="burst"):
        RatePlan("x", burst=0, per_second=1.0)
    with pytest.raises(ValueError, match="cost"):
        MemoryRateLimiter().check_now("k", BASIC, cost=6)


def _redis_run(redis_url: str, body: Callable[[RedisRateLimiter], Awaitable[T]]) -> T:
    from redis.asyncio import Redis

    async def runner() -> T:
        client = Redis.from_url(redis_url)
        try:
            limiter = RedisRateLimiter(client, prefix=f"test:rl:{secrets.token_hex(4)}:")
            return await body(limiter)
        finally:
            await client.aclose()

    return asyncio.run(runner())


def test_redis_limiter_matches_the_memory_limiter(
    redis_url: str, frozen_clock: FrozenClock
) -> None:
    memory = MemoryRateLimiter()

    async def body(limiter: RedisRateLimiter) -> None:
        for step in range(12):
            expected = memory.check_now("k", BASIC)
            got = await limiter.check("k", BASIC)
            assert got == expected, step
            frozen_clock.advance(timedelta(milliseconds=400))

    _redis_run(redis_url, body)


def test_redis_limiter_never_over_admits_under_concurrency(
    redis_url: str, frozen_clock: FrozenClock
) -> None:
    plan = RatePlan("c", burst=50, per_second=0.001, daily_quota=40)

    async def body(limiter: RedisRateLimiter) -> list[bool]:
        from redis.asyncio import Redis

        # several connections, as several workers would have
        clients = [Redis.from_url(redis_url) for _ in range(8)]
        try:
            limiters = [RedisRateLimiter(c, prefix=limiter._prefix) for c in clients]
            decisions = await asyncio.gather(
                *(limiters[i % 8].check("shared", plan) for i in range(200))
            )
            return [d.allowed for d in decisions]
        finally:
            for c in clients:
                await c.aclose()

    allowed = _redis_run(redis_url, body)
    assert allowed.count(True) == 40  # the daily quota, exactly


@pytest.mark.anyio
async def test_check_all_stops_at_the_first_refusal_and_reports_the_tightest() -> None:
    limiter = MemoryRateLimiter()
    small = RatePlan("small", burst=1, per_second=0.001)
    large = RatePlan("large", burst=100, per_second=100.0)
    first = await limiter.check_all([("c", large), ("t", small)])
    assert first.allowed
    assert first.remaining == 0  # the tighter of the two
    refused = await limiter.check_all([("c", large), ("t", small), ("a", large)])
    assert not refused.allowed
    assert refused.retry_after >= 1
    # the limit after the refusal was never charged; the one before it was
    assert limiter.check_now("a", large).remaining == 99
    assert limiter.check_now("c", large).remaining == 97


PLANS = [
    BASIC,
    RatePlan("wide", burst=9, per_second=2.0, daily_quota=30),
    RatePlan("thin", burst=3, per_second=0.5, monthly_quota=12),
    RatePlan("open", burst=4, per_second=4.0),
]


@given(
    steps=st.lists(
        st.tuples(
            st.lists(st.sampled_from(range(len(PLANS))), min_size=1, max_size=3),
            st.integers(min_value=1, max_value=3),
            st.floats(min_value=0, max_value=4000, allow_nan=False),
        ),
        max_size=40,
    )
)
@settings(max_examples=150, deadline=None)
def test_check_all_decides_as_check_now_then_tightest(
    steps: list[tuple[list[int], int, float]],
) -> None:
    """The one-pass `check_all` answers and charges exactly as `check_now` per key + `_tightest`."""
    clock = FrozenClock(datetime(2026, 3, 31, 15, 0, tzinfo=UTC))  # near a month's end
    previous = set_clock(clock)
    try:
        fast, slow = MemoryRateLimiter(), MemoryRateLimiter()
        for picks, cost, wait in steps:
            clock.advance(timedelta(seconds=wait))
            checks = [(f"k{i}", PLANS[i]) for i in picks]
            cost = min([cost, *(plan.burst for _, plan in checks)])
            expected = []
            for key, plan in checks:
                decision = slow.check_now(key, plan, cost)
                expected.append(decision)
                if not decision.allowed:
                    break
            assert asyncio.run(fast.check_all(checks, cost)) == _tightest(expected)
        assert fast._state == slow._state
    finally:
        set_clock(previous)
