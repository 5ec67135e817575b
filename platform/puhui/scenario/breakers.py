"""Circuit breakers every worker agrees on: the state of each upstream's breaker kept in Redis.

:class:`puhui.outbound.CircuitBreaker` lives in one process, so with several workers one of them
could keep hammering an upstream the others have given up on, and the operators' health view
would depend on which worker answered. When Redis is configured, connectors use
:class:`SharedUpstreamBreakers` instead: each breaker keeps a local mirror (the outbound client
consults it synchronously before every attempt), pulled from Redis before every page a
connector fetches and pushed after it. A push replays the page's successes and failures
atomically (one Lua script) onto the shared state, with the same rules as the local breaker:
N consecutive failures open the circuit, a failure while half-open re-opens it, a success
closes it. Half-open probes are limited per worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final

from litestar.datastructures import State

from puhui.clock import utcnow
from puhui.outbound import (
    CircuitBreaker,
    CircuitHealth,
    CircuitPolicy,
    UpstreamBreakers,
    upstream_breakers,
)

__all__ = [
    "SharedCircuitBreaker",
    "SharedUpstreamBreakers",
    "breaker_health",
    "connector_breakers",
]

_SUCCESS: Final = "s"
_FAILURE: Final = "f"
_STATE_KEY: Final = "scenario_breakers"

# KEYS[1] breaker hash; ARGV: now (epoch s), threshold, open_for (s), ttl (s), events...
_APPLY: Final = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local open_for = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local stored = redis.call('HMGET', key, 'failures', 'opened_at')
local failures = 0
if stored[1] then failures = tonumber(stored[1]) end
local opened = nil
if stored[2] then opened = tonumber(stored[2]) end
for i = 5, #ARGV do
  if ARGV[i] == 's' then
    failures = 0
    opened = nil
  else
    failures = failures + 1
    local half_open = opened ~= nil and now >= opened + open_for
    if half_open or failures >= threshold then opened = now end
  end
end
redis.call('HSET', key, 'failures', failures)
if opened then
  redis.call('HSET', key, 'opened_at', tostring(opened))
else
  redis.call('HDEL', key, 'opened_at')
end
redis.call('EXPIRE', key, ttl)
if opened then return {tostring(failures), tostring(opened)} end
return {tostring(failures), ''}
"""


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _moment(raw: Any) -> datetime | None:
    if raw in (None, b"", ""):
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return datetime.fromtimestamp(float(text), tz=UTC)


def _int(raw: Any) -> int:
    if raw in (None, b"", ""):
        return 0
    return int(float(raw.decode() if isinstance(raw, bytes) else raw))


class SharedCircuitBreaker(CircuitBreaker):
    """A breaker whose state is the shared one in Redis, mirrored locally between pages."""

    def __init__(self, upstream: str, policy: CircuitPolicy, redis: Any, namespace: str) -> None:
        super().__init__(upstream, policy)
        self._redis = redis
        self._key = f"{namespace}:{upstream}"
        self._pending: list[str] = []

    # The outbound client drives the local mirror with the usual rules; outcomes are queued.
    def record_success(self) -> None:
        super().record_success()
        self._pending.append(_SUCCESS)

    def record_failure(self) -> None:
        super().record_failure()
        self._pending.append(_FAILURE)

    def _adopt(self, failures: Any, opened: Any) -> None:
        """Make the shared state this worker's (the breaker's own fields, as it keeps them)."""
        self._failures = _int(failures)
        self._opened_at = _moment(opened)

    # -- the shared state
    async def pull(self) -> None:
        """Take the shared state (another worker may have opened or closed the circuit)."""
        failures, opened = await self._redis.hmget(self._key, ["failures", "opened_at"])
        self._adopt(failures, opened)

    async def push(self) -> None:
        """Replay this worker's outcomes since the last push onto the shared state."""
        if not self._pending:
            return
        events, self._pending = self._pending, []
        policy = self.policy
        ttl = max(int(policy.open_for.total_seconds()) * 10, 3600)
        failures, opened = await self._redis.eval(
            _APPLY,
            1,
            self._key,
            repr(_epoch(utcnow())),
            str(policy.failure_threshold),
            repr(policy.open_for.total_seconds()),
            str(ttl),
            *events,
        )
        self._adopt(failures, opened)


class SharedUpstreamBreakers(UpstreamBreakers):
    """One Redis-shared breaker per upstream; the connectors pull/push around every page."""

    def __init__(
        self,
        redis: Any,
        policy: CircuitPolicy | None = None,
        *,
        namespace: str = "puhui:breaker",
    ) -> None:
        super().__init__(policy)
        self._redis = redis
        self._namespace = namespace
        self._default = policy or CircuitPolicy()
        self._shared: dict[str, SharedCircuitBreaker] = {}

    def breaker(self, upstream: str, policy: CircuitPolicy | None = None) -> SharedCircuitBreaker:
        found = self._shared.get(upstream)
        if found is None:
            found = SharedCircuitBreaker(
                upstream, policy or self._default, self._redis, self._namespace
            )
            self._shared[upstream] = found
        return found

    def health(self) -> tuple[CircuitHealth, ...]:
        return tuple(b.health() for _, b in sorted(self._shared.items()))

    async def pull(self, upstream: str) -> None:
        await self.breaker(upstream).pull()

    async def push(self, upstream: str) -> None:
        await self.breaker(upstream).push()

    async def shared_health(self, upstreams: Iterable[str]) -> tuple[CircuitHealth, ...]:
        """Every named upstream's breaker as all workers see it now."""
        out = []
        for upstream in sorted(set(upstreams)):
            breaker = self.breaker(upstream)
            await breaker.pull()
            out.append(breaker.health())
        return tuple(out)


def connector_breakers(state: State) -> UpstreamBreakers:
    """The breakers connectors use in this app: shared through Redis when it is configured."""
    found = state.get(_STATE_KEY)
    if isinstance(found, UpstreamBreakers):
        return found
    redis = state.get("redis")
    breakers = upstream_breakers() if redis is None else SharedUpstreamBreakers(redis)
    state[_STATE_KEY] = breakers
    return breakers


async def breaker_health(
    breakers: UpstreamBreakers, upstreams: Iterable[str]
) -> tuple[CircuitHealth, ...]:
    """Health of the connectors' breakers: from Redis when shared, else this process's."""
    if isinstance(breakers, SharedUpstreamBreakers):
        return await breakers.shared_health(upstreams)
    return breakers.health()
