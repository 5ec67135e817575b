"""Upstream outages: retries honour Retry-After, the circuit opens and half-opens, last-good
data is served with its staleness stated, and a malformed payload is a data error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from connectors import tax
from connectors.contract import StateCheckpoint, SyncState, TransientError, UpstreamDataError
from connectors.personas import PersonaProfile, persona
from connectors.scenario import ConnectorRuntime
from connectors.simulators import serve_simulator
from connectors.tax.simulator import SANDBOX_TOKEN, create_simulator
from connectors.testing import (
    ReadResult,
    SleepRecorder,
    collect_read,
    grant_for,
    set_faults,
    simulator_requests,
)

from puhui.clock import FrozenClock, set_clock
from puhui.outbound import (
    CircuitOpenError,
    CircuitPolicy,
    CircuitState,
    InMemoryLastGoodStore,
    OutboundClient,
    RetryPolicy,
    UpstreamBreakers,
    UpstreamStatusError,
)

HEADERS = {"authorization": f"Bearer {SANDBOX_TOKEN}"}
SUBJECT = persona(PersonaProfile.HEALTHY)
GRANT = grant_for(SUBJECT.uscc, {"tax": frozenset({"vat_returns", "tax_arrears"})})
VAT_PATH = f"/v1/enterprises/{SUBJECT.uscc}/vat-returns"


@pytest.fixture
def upstream() -> Iterator[str]:
    """A private tax simulator, so fault plans never leak into other tests."""
    sim = serve_simulator(create_simulator())
    yield sim.base_url
    sim.stop()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime(2025, 7, 1, 9, 0, tzinfo=UTC))
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


def _runtime(sleeps: SleepRecorder, *, threshold: int = 5) -> ConnectorRuntime:
    return ConnectorRuntime(
        breakers=UpstreamBreakers(
            CircuitPolicy(failure_threshold=threshold, open_for=timedelta(seconds=30))
        ),
        snapshots=InMemoryLastGoodStore(),
        retry=RetryPolicy(attempts=3, initial_backoff_s=0.05, max_backoff_s=0.2, jitter_s=0.01),
        sleep=sleeps,
    )


def _read(
    runtime: ConnectorRuntime, base_url: str, state: SyncState | None = None, **cfg: float
) -> ReadResult:
    config = tax.TaxConfig(base_url=base_url, access_token=SANDBOX_TOKEN, **cfg)  # type: ignore[arg-type]
    connector = tax.connector.with_runtime(runtime)
    return asyncio.run(collect_read(connector, config, GRANT, ["vat_returns"], state))


def test_retries_wait_as_long_as_retry_after_says(upstream: str, sleeps: SleepRecorder) -> None:
    set_faults(upstream, HEADERS, fail_next=2, fail_status=503, retry_after_s=3)
    result = _read(_runtime(sleeps), upstream)
    assert result.errors == ()
    assert len(result.records) == 24
    assert sleeps.waits == [3.0, 3.0]


def test_retry_after_beyond_the_cap_fails_fast(upstream: str, sleeps: SleepRecorder) -> None:
    set_faults(upstream, HEADERS, fail_next=1, fail_status=429, retry_after_s=600)
    result = _read(_runtime(sleeps), upstream)
    assert [type(e) for e in result.errors] == [TransientError]
    assert sleeps.waits == []
    assert simulator_requests(upstream, HEADERS)[VAT_PATH] == 1


def test_backoff_grows_without_retry_after(upstream: str, sleeps: SleepRecorder) -> None:
    set_faults(upstream, HEADERS, fail_next=2, fail_status=502)
    result = _read(_runtime(sleeps), upstream)
    assert result.errors == ()
    assert len(sleeps.waits) == 2
    assert 0 < sleeps.waits[0] < sleeps.waits[1] <= 0.21


def test_circuit_opens_after_failures_then_half_opens_and_closes(
    upstream: str, sleeps: SleepRecorder, clock: FrozenClock
) -> None:
    runtime = _runtime(sleeps, threshold=3)
    breaker = runtime.breakers.breaker("tax")
    set_faults(upstream, HEADERS, fail_next=-1, fail_status=500)

    first = _read(runtime, upstream)
    assert isinstance(first.errors[0], TransientError)
    assert breaker.state is CircuitState.OPEN
    served = simulator_requests(upstream, HEADERS)[VAT_PATH]
    assert served == 3

    second = _read(runtime, upstream)  # open: the upstream is not called at all
    assert isinstance(second.errors[0], TransientError)
    assert "circuit open" in second.errors[0].message
    assert simulator_requests(upstream, HEADERS)[VAT_PATH] == served

    clock.advance(timedelta(seconds=31))
    assert breaker.health().state is CircuitState.HALF_OPEN
    third = _read(runtime, upstream)  # the probe fails: open again, one call only
    assert isinstance(third.errors[0], TransientError)
    assert simulator_requests(upstream, HEADERS)[VAT_PATH] == served + 1
    assert breaker.state is CircuitState.OPEN

    clock.advance(timedelta(seconds=31))
    set_faults(upstream, HEADERS)  # the upstream recovers
    healed = _read(runtime, upstream)
    assert healed.errors == ()
    assert len(healed.records) == 24
    assert breaker.health().state is CircuitState.CLOSED
    assert breaker.health().consecutive_failures == 0


def test_last_good_snapshot_is_served_with_its_staleness(
    upstream: str, sleeps: SleepRecorder, clock: FrozenClock
) -> None:
    runtime = _runtime(sleeps)
    fresh = _read(runtime, upstream)
    taken_at = clock.now()
    clock.advance(timedelta(hours=2))
    set_faults(upstream, HEADERS, fail_next=-1, fail_status=503)

    degraded = _read(runtime, upstream)
    assert {r.key for r in degraded.records} == {r.key for r in fresh.records}
    assert all(r.provenance.snapshot_taken_at == taken_at for r in degraded.records)
    assert all(r.provenance.degraded for r in degraded.records)
    warnings = [e for e in degraded.errors if isinstance(e, TransientError)]
    assert warnings
    assert warnings[0].degraded
    assert "stale by 2:00:00" in warnings[0].message
    # Stale pages never advance the sync state: the next live sync re-reads them.
    assert not any(isinstance(i, StateCheckpoint) for i in degraded.items)


def test_no_snapshot_means_a_transient_error_not_empty_data(
    upstream: str, sleeps: SleepRecorder
) -> None:
    set_faults(upstream, HEADERS, fail_next=-1, fail_status=503)
    result = _read(_runtime(sleeps), upstream)
    assert result.records == ()
    assert isinstance(result.errors[0], TransientError)
    assert not result.errors[0].degraded


def test_malformed_payload_is_an_upstream_data_error_and_not_retried(
    upstream: str, sleeps: SleepRecorder
) -> None:
    set_faults(upstream, HEADERS, malformed_next=1)
    result = _read(_runtime(sleeps), upstream)
    assert result.records == ()
    assert [type(e) for e in result.errors] == [UpstreamDataError]
    assert simulator_requests(upstream, HEADERS)[VAT_PATH] == 1


def test_slow_upstream_times_out_and_is_retried(upstream: str, sleeps: SleepRecorder) -> None:
    set_faults(upstream, HEADERS, slow_next=1, slow_s=1.0)
    result = _read(_runtime(sleeps), upstream, timeout_s=0.3)
    assert result.errors == ()
    assert len(result.records) == 24
    assert len(sleeps.waits) == 1


def test_post_is_not_retried_unless_declared_idempotent() -> None:
    calls = 0

    def failing(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    async def post(idempotent: bool | None) -> None:
        client = OutboundClient(
            upstream="payments",
            base_url="http://rail.test",
            transport=httpx.MockTransport(failing),
            breaker=UpstreamBreakers().breaker("payments"),
            retry=RetryPolicy(attempts=3),
            sleep=SleepRecorder(),
        )
        async with client:
            await client.request("POST", "/transfers", json_body=b"{}", idempotent=idempotent)

    with pytest.raises(UpstreamStatusError):
        asyncio.run(post(None))
    assert calls == 1
    with pytest.raises(UpstreamStatusError):
        asyncio.run(post(True))
    assert calls == 4


def test_open_circuit_rejects_without_calling(clock: FrozenClock) -> None:
    calls = 0

    def down(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    breakers = UpstreamBreakers(CircuitPolicy(failure_threshold=2))

    async def get() -> None:
        client = OutboundClient(
            upstream="grid",
            base_url="http://grid.test",
            transport=httpx.MockTransport(down),
            breaker=breakers.breaker("grid"),
            retry=RetryPolicy(attempts=5),
            sleep=SleepRecorder(),
        )
        async with client:
            await client.get("/v1/health")

    with pytest.raises(CircuitOpenError):
        asyncio.run(get())
    assert calls == 2
    (health,) = breakers.health()
    assert health.state is CircuitState.OPEN
    assert health.probe_at == clock.now() + timedelta(seconds=30)
