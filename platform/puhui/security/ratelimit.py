"""Per-key rate limits: a token bucket for bursts plus fixed daily and monthly quotas.

Decisions carry the IETF `RateLimit-Policy` / `RateLimit` header values
(draft-ietf-httpapi-ratelimit-headers-10: lists of named policies, `q`/`w` and `r`/`t`).
Quota days and months follow China Standard Time (UTC+8), the bank's business calendar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol

from puhui.clock import utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "BUSINESS_TZ",
    "Decision",
    "MemoryRateLimiter",
    "RateLimiter",
    "RatePlan",
    "RedisRateLimiter",
]

BUSINESS_TZ: Final = timezone(timedelta(hours=8), "CST")
_DAY: Final = 86_400
_OFFSET: Final = 8 * 3600
_UNLIMITED: Final = -1


@dataclass(frozen=True, slots=True)
class RatePlan:
    """A tenant plan's limits, as data: burst capacity, sustained rate, daily and monthly quotas."""

    name: str
    burst: int
    per_second: float
    daily_quota: int | None = None
    monthly_quota: int | None = None
    policy_header: str = field(init=False, repr=False, compare=False)
    """The `RateLimit-Policy` value: one entry per limit, window `w` in seconds."""

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError("a rate plan needs burst >= 1 and per_second > 0")
        for quota in (self.daily_quota, self.monthly_quota):
            if quota is not None and quota < 0:
                raise ValueError("quotas must be non-negative")
        window = max(1, math.ceil(self.burst / self.per_second))
        parts = [f'"burst";q={self.burst};w={window}']
        if self.daily_quota is not None:
            parts.append(f'"daily";q={self.daily_quota};w={_DAY}')
        if self.monthly_quota is not None:
            parts.append(f'"monthly";q={self.monthly_quota};w={31 * _DAY}')
        object.__setattr__(self, "policy_header", ", ".join(parts))


@dataclass(frozen=True, slots=True)
class Decision:
    """Admit or refuse one call, with what the client needs to back off politely."""

    allowed: bool
    remaining: int
    reset_seconds: int
    retry_after: int
    policy_header: str
    ratelimit_header: str


class RateLimiter(Protocol):
    async def check(self, key: str, plan: RatePlan, cost: int = 1) -> Decision: ...

    async def check_all(
        self, checks: Sequence[tuple[str, RatePlan]], cost: int = 1
    ) -> Decision: ...


def _tightest(decisions: Iterable[Decision]) -> Decision:
    """The first refusal, else the admitting decision with the fewest calls left."""
    tightest: Decision | None = None
    for decision in decisions:
        if not decision.allowed:
            return decision
        if tightest is None or decision.remaining < tightest.remaining:
            tightest = decision
    if tightest is None:
        raise ValueError("no limits to check")
    return tightest


class _Windows(NamedTuple):
    day: int
    day_reset: int
    month: int
    month_reset: int


_window_cache: dict[int, tuple[int, float, float]] = {}


def _windows(now: float) -> _Windows:
    """CST day and month ids and seconds until each resets (month boundary cached per day)."""
    day = int((now + _OFFSET) // _DAY)
    cached = _window_cache.get(day)
    if cached is None:
        local = datetime.fromtimestamp(now, BUSINESS_TZ)
        first_next = (local.replace(day=28) + timedelta(days=4)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        day_end = (day + 1) * _DAY - _OFFSET
        cached = (local.year * 12 + local.month - 1, float(day_end), first_next.timestamp())
        if len(_window_cache) > 64:
            _window_cache.clear()
        _window_cache[day] = cached
    month, day_end_ts, month_end_ts = cached
    return _Windows(
        day=day,
        day_reset=max(1, math.ceil(day_end_ts - now)),
        month=month,
        month_reset=max(1, math.ceil(month_end_ts - now)),
    )


def _decide(
    plan: RatePlan,
    windows: _Windows,
    *,
    allowed: bool,
    tokens: float,
    cost: int,
    day_used: int,
    month_used: int,
) -> Decision:
    """Turn post-check state into a Decision; shared by the memory and Redis limiters.

    The limit reported is the one with the fewest calls left, then the soonest reset, the
    earlier one (burst, daily, monthly) on a tie; a refusal's Retry-After is the longest wait
    that any refusing limit imposes. One pass: this runs on every client call."""
    name, remaining = "burst", int(tokens)
    reset = math.ceil((plan.burst - tokens) / plan.per_second)
    retry_after = 0 if tokens >= cost else max(1, math.ceil((cost - tokens) / plan.per_second))
    if plan.daily_quota is not None:
        left = plan.daily_quota - day_used
        if left < cost:
            retry_after = max(retry_after, windows.day_reset)
        left = max(0, left)
        if left < remaining or (left == remaining and windows.day_reset < reset):
            name, remaining, reset = "daily", left, windows.day_reset
    if plan.monthly_quota is not None:
        left = plan.monthly_quota - month_used
        if left < cost:
            retry_after = max(retry_after, windows.month_reset)
        left = max(0, left)
        if left < remaining or (left == remaining and windows.month_reset < reset):
            name, remaining, reset = "monthly", left, windows.month_reset
    return Decision(
        allowed=allowed,
        remaining=remaining,
        reset_seconds=reset,
        retry_after=0 if allowed else retry_after,
        policy_header=plan.policy_header,
        ratelimit_header=f'"{name}";r={remaining};t={reset}',
    )


def _validate_cost(plan: RatePlan, cost: int) -> None:
    if not 1 <= cost <= plan.burst:
        raise ValueError("cost must be between 1 and the plan's burst")


class MemoryRateLimiter:
    """Single-worker limiter (embedded mode); state per key in a dict, O(1) per check."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        # key -> [tokens, last_refill, day_id, day_used, month_id, month_used]
        self._state: dict[str, list[float]] = {}

    def _charge(
        self, key: str, plan: RatePlan, cost: int, now: float, windows: _Windows
    ) -> tuple[bool, float, int, int]:
        """Refill, check and (if admitted) consume one key: (allowed, tokens, day, month used)."""
        _validate_cost(plan, cost)
        state = self._state.get(key)
        if state is None:
            state = [float(plan.burst), now, windows.day, 0, windows.month, 0]
            self._state[key] = state
        tokens = min(float(plan.burst), state[0] + max(0.0, now - state[1]) * plan.per_second)
        if state[2] != windows.day:
            state[2], state[3] = windows.day, 0
        if state[4] != windows.month:
            state[4], state[5] = windows.month, 0
        day_used, month_used = int(state[3]), int(state[5])
        allowed = (
            tokens >= cost
            and (plan.daily_quota is None or day_used + cost <= plan.daily_quota)
            and (plan.monthly_quota is None or month_used + cost <= plan.monthly_quota)
        )
        if allowed:
            tokens -= cost
            day_used += cost
            month_used += cost
            state[3], state[5] = day_used, month_used
        state[0], state[1] = tokens, max(now, state[1])
        return allowed, tokens, day_used, month_used

    def check_now(
        self, key: str, plan: RatePlan, cost: int = 1, *, now: float | None = None
    ) -> Decision:
        """Synchronous core of `check` (no I/O)."""
        if now is None:
            now = utcnow().timestamp()
        windows = _windows(now)
        allowed, tokens, day_used, month_used = self._charge(key, plan, cost, now, windows)
        return _decide(
            plan,
            windows,
            allowed=allowed,
            tokens=tokens,
            cost=cost,
            day_used=day_used,
            month_used=month_used,
        )

    async def check(self, key: str, plan: RatePlan, cost: int = 1) -> Decision:
        return self.check_now(key, plan, cost)

    async def check_all(self, checks: Sequence[tuple[str, RatePlan]], cost: int = 1) -> Decision:
        """Charge each limit in turn (one clock reading), stopping at the first refusal.

        The same answer and the same state as `_tightest` over `check_now` per key (tested
        against it), in one pass: on the admitting path one `Decision` is built, for the
        tightest limit alone. This runs on every client call.
        """
        now = utcnow().timestamp()
        windows = _windows(now)
        tightest: tuple[RatePlan, float, int, int] | None = None
        least = 0
        for key, plan in checks:
            allowed, tokens, day_used, month_used = self._charge(key, plan, cost, now, windows)
            if not allowed:
                return _decide(
                    plan,
                    windows,
                    allowed=False,
                    tokens=tokens,
                    cost=cost,
                    day_used=day_used,
                    month_used=month_used,
                )
            daily, monthly = plan.daily_quota, plan.monthly_quota
            # the fewest calls left so far (ties: the earlier limit)
            remaining = int(tokens)
            if daily is not None and daily - day_used < remaining:
                remaining = max(0, daily - day_used)
            if monthly is not None and monthly - month_used < remaining:
                remaining = max(0, monthly - month_used)
            if tightest is None or remaining < least:
                tightest, least = (plan, tokens, day_used, month_used), remaining
        if tightest is None:
            raise ValueError("no limits to check")
        plan, tokens, day_used, month_used = tightest
        return _decide(
            plan,
            windows,
            allowed=True,
            tokens=tokens,
            cost=cost,
            day_used=day_used,
            month_used=month_used,
        )


# One script, one round trip: bucket refill + quota checks + consumption happen atomically,
# so concurrent workers can never over-admit. Keys share a hash tag (same cluster slot).
_CHECK_SCRIPT: Final = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local day_quota = tonumber(ARGV[5])
local day_ttl = tonumber(ARGV[6])
local month_quota = tonumber(ARGV[7])
local month_ttl = tonumber(ARGV[8])
local bucket = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(bucket[1])
local ts = tonumber(bucket[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local day_used = tonumber(redis.call('GET', KEYS[2]) or '0')
local month_used = tonumber(redis.call('GET', KEYS[3]) or '0')
local allowed = tokens >= cost
  and (day_quota < 0 or day_used + cost <= day_quota)
  and (month_quota < 0 or month_used + cost <= month_quota)
if allowed then
  tokens = tokens - cost
  if day_quota >= 0 then
    day_used = redis.call('INCRBY', KEYS[2], cost)
    redis.call('EXPIRE', KEYS[2], day_ttl)
  end
  if month_quota >= 0 then
    month_used = redis.call('INCRBY', KEYS[3], cost)
    redis.call('EXPIRE', KEYS[3], month_ttl)
  end
end
if now > ts then ts = now end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'ts', string.format('%.6f', ts))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed and 1 or 0, string.format('%.6f', tokens), day_used, month_used}
"""


class RedisRateLimiter:
    """Shared limiter for many workers (scale mode): ONE EVALSHA per check."""

    __slots__ = ("_prefix", "_redis", "_script")

    def __init__(self, redis: Redis, prefix: str = "puhui:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_CHECK_SCRIPT)

    async def check(self, key: str, plan: RatePlan, cost: int = 1) -> Decision:
        _validate_cost(plan, cost)
        now = utcnow().timestamp()
        windows = _windows(now)
        base = f"{self._prefix}{{{key}}}"
        keys = [f"{base}:b", f"{base}:d:{windows.day}", f"{base}:m:{windows.month}"]
        args: list[str | int] = [
            f"{now:.6f}",
            plan.burst,
            repr(plan.per_second),
            cost,
            _UNLIMITED if plan.daily_quota is None else plan.daily_quota,
            windows.day_reset + 3600,
            _UNLIMITED if plan.monthly_quota is None else plan.monthly_quota,
            windows.month_reset + 3600,
        ]
        allowed, tokens, day_used, month_used = await self._script(keys=keys, args=args)
        return _decide(
            plan,
            windows,
            allowed=bool(int(allowed)),
            tokens=float(tokens),
            cost=cost,
            day_used=int(day_used),
            month_used=int(month_used),
        )

    async def check_all(self, checks: Sequence[tuple[str, RatePlan]], cost: int = 1) -> Decision:
        """Charge each limit in turn, stopping at the first refusal (as the memory limiter)."""
        decisions = []
        for key, plan in checks:
            decision = await self.check(key, plan, cost)
            decisions.append(decision)
            if not decision.allowed:
                break
        return _tightest(decisions)
