"""Circuit breakers shared through Redis: two workers agree on an upstream's state (6.3.2 d)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from connectors import tax
from connectors.personas import PersonaProfile, persona
from connectors.records import TransientError
from connectors.scenario import ConnectorRuntime
from connectors.testing import (
    SleepRecorder,
    collect_read,
    grant_for,
    set_faults,
    simulator_requests,
)
from litestar import Litestar
from tests.builders import member_client
from tests.integration.scenario.conftest import control_headers, sandbox_config
from tests.scenario_builders import create_instance

from puhui.outbound import (
    CircuitOpenError,
    CircuitPolicy,
    CircuitState,
    InMemoryLastGoodStore,
    RetryPolicy,
)
from puhui.scenario.breakers import SharedUpstreamBreakers, connector_breakers
from puhui.scenario.hosted import hosted_connector
from puhui.tenancy.models import TenantKind

REDIS_URL = os.environ.get("PUHUI_TEST_REDIS_URL")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not REDIS_URL, reason="set PUHUI_TEST_REDIS_URL to test shared breakers"),
]
P = persona(PersonaProfile.HEALTHY)
POLICY = CircuitPolicy(failure_threshold=2, open_for=timedelta(minutes=5))


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL or "")
    yield client
    await client.aclose()


def _two_workers(redis: Any) -> tuple[SharedUpstreamBreakers, SharedUpstreamBreakers]:
    namespace = f"puhui:test-breaker:{uuid.uuid4().hex}"
    return (
        SharedUpstreamBreakers(redis, POLICY, namespace=namespace),
        SharedUpstreamBreakers(redis, POLICY, namespace=namespace),
    )


async def test_a_circuit_one_worker_opens_is_open_for_the_other(redis: Any) -> None:
    first, second = _two_workers(redis)
    for _ in range(POLICY.failure_threshold):
        first.breaker("tax").record_failure()
    await first.push("tax")
    assert first.breaker("tax").state is CircuitState.OPEN
    assert second.breaker("tax").state is CircuitState.CLOSED  # not pulled yet
    await second.pull("tax")
    assert second.breaker("tax").state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError):
        second.breaker("tax").before_call()
    (health,) = await second.shared_health(["tax"])
    assert health.consecutive_failures == POLICY.failure_threshold
    second.breaker("tax").record_success()  # the other worker's probe succeeded
    await second.push("tax")
    await first.pull("tax")
    assert first.breaker("tax").state is CircuitState.CLOSED


async def test_failures_of_two_workers_add_up(redis: Any) -> None:
    first, second = _two_workers(redis)
    first.breaker("utilities").record_failure()
    await first.push("utilities")
    second.breaker("utilities").record_failure()  # one each: neither alone reaches the limit
    await second.push("utilities")
    assert second.breaker("utilities").state is CircuitState.OPEN
    await first.pull("utilities")
    assert first.breaker("utilities").state is CircuitState.OPEN


def _runtime(breakers: SharedUpstreamBreakers) -> ConnectorRuntime:
    return ConnectorRuntime(
        breakers=breakers,
        snapshots=InMemoryLastGoodStore(),  # no last-good pages: the outage shows as an error
        retry=RetryPolicy(attempts=2, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0),
        sleep=SleepRecorder(),
    )


async def test_a_worker_fails_fast_over_http_when_another_opened_the_circuit(
    redis: Any, upstreams: dict[str, str]
) -> None:
    first, second = _two_workers(redis)
    config = open_config_for("tax", upstreams["tax"])
    grant = grant_for(P.uscc, {"tax": frozenset({"vat_returns"})})
    headers = control_headers("tax")
    set_faults(upstreams["tax"], headers, fail_next=-1)
    read = await collect_read(
        tax.connector.with_runtime(_runtime(first)), config, grant, ["vat_returns"]
    )
    assert any(isinstance(e, TransientError) for e in read.errors)
    assert first.breaker("tax").state is CircuitState.OPEN
    before = simulator_requests(upstreams["tax"], headers)
    read = await collect_read(
        tax.connector.with_runtime(_runtime(second)), config, grant, ["vat_returns"]
    )
    assert [e.message for e in read.errors] == ["tax: circuit open"]
    assert simulator_requests(upstreams["tax"], headers) == before  # nothing reached it


def open_config_for(name: str, base_url: str) -> Any:
    spec = hosted_connector(name).spec()
    return msgspec.convert(sandbox_config(name, base_url), type=spec.config_schema)


async def test_operators_see_a_circuit_another_worker_opened(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    assert app.state.redis is not None
    app_breakers = connector_breakers(app.state)
    assert isinstance(app_breakers, SharedUpstreamBreakers)
    operator, _bank, _member = await member_client(app, ["operator"], kind=TenantKind.BANK)
    _partner, tenant, _m = await member_client(app, ["owner"])
    instance = await create_instance(app, tenant, "payroll", upstreams["payroll"])
    other_worker = SharedUpstreamBreakers(app.state.redis)  # the app's namespace, its own memory
    breaker = other_worker.breaker("payroll")
    try:
        for _ in range(CircuitPolicy().failure_threshold):
            breaker.record_failure()
        await other_worker.push("payroll")
        health = await operator.get("/api/v1/operator/connectors/health")
        assert health.status_code == 200
        mine = next(h for h in health.json() if h["instance_id"] == str(instance.id))
        assert mine["circuit"]["state"] == "open"
    finally:
        breaker.record_success()
        await other_worker.push("payroll")
    health = await operator.get("/api/v1/operator/connectors/health")
    mine = next(h for h in health.json() if h["instance_id"] == str(instance.id))
    assert mine["circuit"]["state"] == "closed"
