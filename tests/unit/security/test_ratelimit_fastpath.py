"""Rate limit + quota fast paths (gateway step 8) decide and charge exactly as the generic code.

`MemoryRateLimiter.check_all` builds one `Decision` for the tightest limit; it is compared with
`check_now` per key (the generic path) folded by `_tightest`, state included, on generated call
sequences: several plans, repeated keys, invalid costs, the clock going forwards across day and
month ends and backwards. `_decide` picks its limit in one pass; it is compared with the
list-and-`min` version it replaced. `quota.admit` formats its keys once per caller and API; it
must charge the same keys as before.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from puhui.clock import FrozenClock, set_clock
from puhui.errors import ProblemError
from puhui.gateway.steps import quota
from puhui.security.ratelimit import (
    Decision,
    MemoryRateLimiter,
    RatePlan,
    _decide,
    _tightest,
    _windows,
)

PLANS = [
    RatePlan("basic", burst=5, per_second=1.0, daily_quota=8, monthly_quota=20),
    RatePlan("wide", burst=9, per_second=2.5, daily_quota=30),
    RatePlan("thin", burst=3, per_second=0.3, monthly_quota=12),
    RatePlan("open", burst=4, per_second=4),  # an int rate
    RatePlan("none-left", burst=2, per_second=1.0, daily_quota=0, monthly_quota=5),
    RatePlan("tie", burst=6, per_second=6.0, daily_quota=6, monthly_quota=6),
]


def reference_decide(
    plan: RatePlan,
    windows: Any,
    *,
    allowed: bool,
    tokens: float,
    cost: int,
    day_used: int,
    month_used: int,
) -> Decision:
    """`_decide` as it was: every limit listed, the tightest picked by `min`."""
    limits = [
        (
            "burst",
            int(tokens),
            math.ceil((plan.burst - tokens) / plan.per_second),
            0 if tokens >= cost else max(1, math.ceil((cost - tokens) / plan.per_second)),
        )
    ]
    if plan.daily_quota is not None:
        left = plan.daily_quota - day_used
        retry = 0 if left >= cost else windows.day_reset
        limits.append(("daily", max(0, left), windows.day_reset, retry))
    if plan.monthly_quota is not None:
        left = plan.monthly_quota - month_used
        retry = 0 if left >= cost else windows.month_reset
        limits.append(("monthly", max(0, left), windows.month_reset, retry))
    name, remaining, reset, _ = min(limits, key=lambda limit: (limit[1], limit[2]))
    retry_after = 0 if allowed else max(limit[3] for limit in limits)
    return Decision(
        allowed=allowed,
        remaining=remaining,
        reset_seconds=reset,
        retry_after=retry_after,
        policy_header=plan.policy_header,
        ratelimit_header=f'"{name}";r={remaining};t={reset}',
    )  # fmt: skip


def _generic(limiter: MemoryRateLimiter, checks: list[tuple[str, RatePlan]], cost: int) -> Any:
    """`check_all` as specified: `check_now` per key until a refusal, then `_tightest`."""
    decisions = []
    for key, plan in checks:
        try:
            decision = limiter.check_now(key, plan, cost)
        except ValueError as exc:
            return ("ValueError", str(exc))
        decisions.append(decision)
        if not decision.allowed:
            break
    try:
        return _tightest(decisions)
    except ValueError as exc:
        return ("ValueError", str(exc))


def _fast(limiter: MemoryRateLimiter, checks: list[tuple[str, RatePlan]], cost: int) -> Any:
    try:
        return asyncio.run(limiter.check_all(checks, cost))
    except ValueError as exc:
        return ("ValueError", str(exc))


_STEP = st.tuples(
    st.lists(
        st.tuples(st.sampled_from(["k0", "k1", "k2"]), st.sampled_from(range(len(PLANS)))),
        min_size=0,
        max_size=4,
    ),
    st.integers(min_value=0, max_value=7),  # cost; 0 and > burst must be refused alike
    st.one_of(
        st.floats(min_value=0, max_value=5, allow_nan=False),
        st.floats(min_value=-3, max_value=0, allow_nan=False),  # the clock stepping back
        st.sampled_from([3600.0, 86_400.0, 40 * 86_400.0]),
    ),
)


@given(
    start=st.sampled_from(
        [
            datetime(2026, 3, 31, 15, 59, 58, tzinfo=UTC),  # 2 s before April (CST)
            datetime(2026, 3, 14, 15, 59, 59, 500_000, tzinfo=UTC),  # just before a CST day
            datetime(2026, 2, 28, 12, 0, tzinfo=UTC),
        ]
    ),
    steps=st.lists(_STEP, max_size=40),
)
@settings(max_examples=300, deadline=None)
@example(start=datetime(2026, 3, 31, 15, 59, 58, tzinfo=UTC), steps=[([], 1, 0.0)])
@example(
    start=datetime(2026, 3, 31, 15, 59, 58, tzinfo=UTC),
    steps=[([("k0", 1), ("k0", 1), ("k1", 0)], 6, 0.0)],
)  # an invalid cost after a charged key: that key stays charged, as before
def test_check_all_equals_check_now_then_tightest(
    start: datetime, steps: list[tuple[list[tuple[str, int]], int, float]]
) -> None:
    clock = FrozenClock(start)
    previous = set_clock(clock)
    try:
        fast, generic = MemoryRateLimiter(), MemoryRateLimiter()
        for picks, cost, wait in steps:
            clock.advance(timedelta(seconds=wait))
            checks = [(key, PLANS[index]) for key, index in picks]
            assert _fast(fast, checks, cost) == _generic(generic, checks, cost)
            assert fast._state == generic._state
    finally:
        set_clock(previous)


@given(
    plan=st.sampled_from(PLANS),
    now=st.floats(min_value=1.7e9, max_value=1.8e9, allow_nan=False),
    tokens=st.floats(min_value=0, max_value=9, allow_nan=False),
    day_used=st.integers(min_value=0, max_value=40),
    month_used=st.integers(min_value=0, max_value=40),
    cost=st.integers(min_value=1, max_value=3),
    allowed=st.booleans(),
)
@settings(max_examples=500, deadline=None)
def test_decide_equals_the_reference(
    plan: RatePlan,
    now: float,
    tokens: float,
    day_used: int,
    month_used: int,
    cost: int,
    allowed: bool,
) -> None:
    windows = _windows(now)
    state = {
        "tokens": min(tokens, float(plan.burst)),
        "cost": cost,
        "day_used": day_used,
        "month_used": month_used,
    }
    expected = reference_decide(plan, windows, allowed=allowed, **state)
    assert _decide(plan, windows, allowed=allowed, **state) == expected


def test_decide_breaks_ties_like_min() -> None:
    """Equal calls left: the sooner reset wins; equal again: the earlier limit (burst first)."""
    plan = RatePlan("tie", burst=6, per_second=6.0, daily_quota=6, monthly_quota=6)
    windows = _windows(datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC).timestamp())
    for tokens, day_used, month_used in [(0.0, 6, 6), (3.0, 3, 3), (6.0, 0, 0), (1.0, 5, 6)]:
        for allowed in (True, False):
            state = {"tokens": tokens, "cost": 1, "day_used": day_used, "month_used": month_used}
            expected = reference_decide(plan, windows, allowed=allowed, **state)
            assert _decide(plan, windows, allowed=allowed, **state) == expected


def _spec(api_id: str) -> Any:
    """`admit` reads only `spec.api_id`."""
    return SimpleNamespace(api_id=api_id)


async def _original_admit(
    limiter: MemoryRateLimiter, api_id: str, plan: quota.TenantPlan, tenant: uuid.UUID, client: str
) -> Decision:
    """quota.admit before the key cache: the keys formatted on every call."""
    decision = await limiter.check_all(
        (
            (f"c:{client}", plan.client),
            (f"t:{tenant}", plan.tenant),
            (f"a:{client}:{api_id}", plan.per_api),
        )
    )
    if not decision.allowed:
        raise quota._refuse(decision)
    return decision


@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2", "client:with:colons"]),
            st.sampled_from([uuid.UUID(int=1), uuid.UUID(int=2)]),
            st.sampled_from(["OP00000001010001", "OP00000001020002"]),
            st.floats(min_value=0, max_value=0.2, allow_nan=False),
        ),
        max_size=60,
    )
)
@settings(max_examples=100, deadline=None)
def test_admit_charges_the_same_keys_as_before(
    calls: list[tuple[str, uuid.UUID, str, float]],
) -> None:
    clock = FrozenClock(datetime(2026, 3, 14, 10, tzinfo=UTC))
    previous = set_clock(clock)
    plan = quota.RATE_PLANS["sandbox"]
    try:
        fast, generic = MemoryRateLimiter(), MemoryRateLimiter()

        async def run(coro: Any) -> Any:
            try:
                return await coro
            except ProblemError as exc:
                return (exc.problem, exc.headers)

        for client, tenant, api, wait in calls:
            clock.advance(timedelta(seconds=wait))
            got = asyncio.run(run(quota.admit(fast, _spec(api), plan, tenant, client)))
            want = asyncio.run(run(_original_admit(generic, api, plan, tenant, client)))
            assert got == want
        assert fast._state == generic._state
    finally:
        set_clock(previous)


def test_admit_key_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quota, "_KEYS_MAX", 3)
    monkeypatch.setattr(quota, "_keys", {})
    for n in range(10):
        keys = quota._limit_keys(f"c{n}", uuid.UUID(int=n), "OP1")
        assert keys == (f"c:c{n}", f"t:{uuid.UUID(int=n)}", f"a:c{n}:OP1")
        assert len(quota._keys) <= 3
