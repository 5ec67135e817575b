"""The one outbound HTTP client helper of the platform: every call to an upstream goes here.

Connectors, the payment rail and partner webhooks reach other systems only through
:class:`OutboundClient`: httpx with timeouts, tenacity retries (exponential backoff with
jitter, honouring ``Retry-After``, idempotent requests and transient failures only), a
per-upstream circuit breaker whose state is inspectable for health checks, and a last-good
snapshot store so a caller can serve stale data, stating its age, during an outage
(JR/T 0269 6.3.2 d: continuous supply and a contingency plan for upstream outage).
"""

from __future__ import annotations

import asyncio
import email.utils
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Protocol

import httpx
import msgspec
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from puhui.clock import utcnow

__all__ = [
    "CircuitBreaker",
    "CircuitHealth",
    "CircuitOpenError",
    "CircuitPolicy",
    "CircuitState",
    "InMemoryLastGoodStore",
    "LastGoodStore",
    "OutboundClient",
    "RetryPolicy",
    "Sleep",
    "Snapshot",
    "UpstreamBreakers",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamStatusError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "parse_retry_after",
    "upstream_breakers",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


# --- errors -----------------------------------------------------------------------------


class UpstreamError(Exception):
    """Any failure talking to an upstream; ``upstream`` names which one."""

    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream


class UpstreamUnavailable(UpstreamError):
    """A transient failure: worth retrying later, counts against the circuit."""

    retry_after: float | None = None


class UpstreamTimeout(UpstreamUnavailable):
    """The upstream did not answer within the timeout."""


class UpstreamStatusError(UpstreamUnavailable):
    """The upstream answered 429 or 5xx, possibly with a ``Retry-After``."""

    def __init__(self, upstream: str, status: int, retry_after: float | None) -> None:
        super().__init__(upstream, f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class CircuitOpenError(UpstreamUnavailable):
    """The circuit is open: the call was not attempted."""


class UpstreamRejected(UpstreamError):
    """A definitive 4xx: retrying will not help (bad credentials, bad request)."""

    def __init__(self, upstream: str, status: int, body: bytes) -> None:
        super().__init__(upstream, f"HTTP {status}")
        self.status = status
        self.body = body[:2048]


# --- circuit breaker --------------------------------------------------------------------


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """When the circuit opens and how long it stays open before probing."""

    failure_threshold: int = 5  # consecutive failures that open the circuit
    open_for: timedelta = timedelta(seconds=30)
    half_open_probes: int = 1  # calls let through while half-open


class CircuitHealth(msgspec.Struct, frozen=True, kw_only=True):
    """A breaker's state as a health check reports it."""

    upstream: str
    state: CircuitState
    consecutive_failures: int
    opened_at: datetime | None
    probe_at: datetime | None


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a pause → closed on success."""

    def __init__(self, upstream: str, policy: CircuitPolicy | None = None) -> None:
        self.upstream = upstream
        self.policy = policy or CircuitPolicy()
        self._failures = 0
        self._opened_at: datetime | None = None
        self._probes_in_flight = 0

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if utcnow() >= self._opened_at + self.policy.open_for:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def before_call(self) -> None:
        """Admit a call or raise :class:`CircuitOpenError` without touching the upstream."""
        state = self.state
        if state is CircuitState.OPEN:
            raise CircuitOpenError(self.upstream, "circuit open")
        if state is CircuitState.HALF_OPEN:
            if self._probes_in_flight >= self.policy.half_open_probes:
                raise CircuitOpenError(self.upstream, "circuit half-open, probe in flight")
            self._probes_in_flight += 1

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probes_in_flight = 0

    def record_failure(self) -> None:
        self._failures += 1
        if self.state is CircuitState.HALF_OPEN or self._failures >= self.policy.failure_threshold:
            self._opened_at = utcnow()
        self._probes_in_flight = 0

    def health(self) -> CircuitHealth:
        opened = self._opened_at
        return CircuitHealth(
            upstream=self.upstream,
            state=self.state,
            consecutive_failures=self._failures,
            opened_at=opened,
            probe_at=None if opened is None else opened + self.policy.open_for,
        )


class UpstreamBreakers:
    """One circuit breaker per upstream, shared by every client of that upstream."""

    def __init__(self, policy: CircuitPolicy | None = None) -> None:
        self._policy = policy or CircuitPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, upstream: str, policy: CircuitPolicy | None = None) -> CircuitBreaker:
        found = self._breakers.get(upstream)
        if found is None:
            found = self._breakers[upstream] = CircuitBreaker(upstream, policy or self._policy)
        return found

    def health(self) -> tuple[CircuitHealth, ...]:
        return tuple(b.health() for _, b in sorted(self._breakers.items()))


_BREAKERS = UpstreamBreakers()


def upstream_breakers() -> UpstreamBreakers:
    """The process-wide breakers, for clients and the health endpoint."""
    return _BREAKERS


# --- last-good snapshots ----------------------------------------------------------------


class Snapshot(msgspec.Struct, frozen=True):
    """The last good response body for a request key and when it was taken."""

    key: str
    body: bytes
    taken_at: datetime

    def staleness(self, now: datetime | None = None) -> timedelta:
        return (now or utcnow()) - self.taken_at


class LastGoodStore(Protocol):
    """Where last-good responses are kept; Redis- or DB-backed stores implement the same."""

    async def get(self, key: str) -> Snapshot | None: ...

    async def put(self, key: str, body: bytes) -> Snapshot: ...


class InMemoryLastGoodStore:
    """A bounded in-process store, least recently written evicted first."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, Snapshot] = OrderedDict()

    async def get(self, key: str) -> Snapshot | None:
        return self._entries.get(key)

    async def put(self, key: str, body: bytes) -> Snapshot:
        snapshot = Snapshot(key, body, utcnow())
        self._entries[key] = snapshot
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return snapshot


# --- the client -------------------------------------------------------------------------


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Retries for transient failures of idempotent requests."""

    attempts: int = 4  # including the first
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    jitter_s: float = 0.1
    max_retry_after_s: float = 30.0  # a longer Retry-After is not waited for: fail now


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utcnow()).total_seconds())


class OutboundClient:
    """An httpx client bound to one upstream with retries, a circuit breaker and timeouts."""

    def __init__(
        self,
        *,
        upstream: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.upstream = upstream
        self.breaker = breaker or upstream_breakers().breaker(upstream)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(
            multiplier=self._retry.initial_backoff_s,
            max=self._retry.max_backoff_s,
            jitter=self._retry.jitter_s,
        )
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> OutboundClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, *, params: Mapping[str, str] | None = None) -> httpx.Response:
        return await self.request("GET", path, params=params)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: bytes | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx/3xx response or raises an :class:`UpstreamError`.

        A POST is retried only when the caller vouches for it (``idempotent=True``, e.g. it
        carries an idempotency key); otherwise a lost response could mean a double effect.
        """
        method = method.upper()
        retryable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts if retryable else 1),
            wait=self._wait,
            retry=retry_if_exception(self._worth_retrying),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(method, path, params, json_body)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _worth_retrying(self, exc: BaseException) -> bool:
        if not isinstance(exc, UpstreamUnavailable) or isinstance(exc, CircuitOpenError):
            return False
        return exc.retry_after is None or exc.retry_after <= self._retry.max_retry_after_s

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, UpstreamUnavailable) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: bytes | None,
    ) -> httpx.Response:
        self.breaker.before_call()
        headers = {"content-type": "application/json"} if json_body is not None else None
        try:
            response = await self._http.request(
                method, path, params=params, content=json_body, headers=headers
            )
        except httpx.TimeoutException:
            self.breaker.record_failure()
            raise UpstreamTimeout(self.upstream, f"{method} {path} timed out") from None
        except httpx.TransportError as exc:
            self.breaker.record_failure()
            raise UpstreamUnavailable(
                self.upstream, f"{method} {path}: {type(exc).__name__}"
            ) from None
        if response.status_code in TRANSIENT_STATUSES:
            self.breaker.record_failure()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise UpstreamStatusError(self.upstream, response.status_code, retry_after)
        # Any other answer proves the upstream is up, even a 4xx about our request.
        self.breaker.record_success()
        if response.status_code >= 400:
            raise UpstreamRejected(self.upstream, response.status_code, response.content)
        return response
