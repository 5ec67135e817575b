"""Step 8 through HTTP: token bucket and quotas per client, with the 429 headers partners need."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from tests.conftest import http_client
from tests.security_builders import install_probe_routes, signed_caller

from puhui.app import create_app
from puhui.config import Settings
from puhui.gateway.steps import quota
from puhui.gateway.steps.quota import TenantPlan
from puhui.security.ratelimit import RatePlan

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("PUHUI_TEST_REDIS_URL")


def _tiny(name: str, *, burst: int, rate: float, daily: int | None) -> TenantPlan:
    plan = RatePlan(name, burst, rate, daily, None)
    roomy = RatePlan(f"{name}-roomy", 1000, 1000.0, None, None)
    return TenantPlan(name=name, client=plan, tenant=roomy, per_api=roomy)


@pytest.fixture
def tiny_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = dict(quota.RATE_PLANS)
    plans["test-burst"] = _tiny("test-burst", burst=2, rate=0.01, daily=None)
    plans["test-quota"] = _tiny("test-quota", burst=50, rate=50.0, daily=3)
    monkeypatch.setattr(quota, "RATE_PLANS", plans)


@pytest.fixture
async def probe_app(app: Litestar) -> AsyncIterator[Litestar]:
    install_probe_routes(app)
    async with app.lifespan():
        yield app


async def test_burst_beyond_the_bucket_is_rate_limited(
    probe_app: Litestar, tiny_plans: None
) -> None:
    caller = await signed_caller(probe_app, rate_plan="test-burst")
    codes = [(await caller.call("GET", "/api/v1/security-probe/a1")).status_code for _ in range(2)]
    refused = await caller.call("GET", "/api/v1/security-probe/a1")
    assert codes == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["type"].endswith("/rate-limited")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-policy"].startswith('"burst";q=2')
    assert refused.headers["ratelimit"].startswith('"burst";r=0')


async def test_daily_quota_exhausted(probe_app: Litestar, tiny_plans: None) -> None:
    caller = await signed_caller(probe_app, rate_plan="test-quota")
    for _ in range(3):
        assert (await caller.call("GET", "/api/v1/security-probe/a1")).status_code == 200
    refused = await caller.call("GET", "/api/v1/security-probe/a1")
    assert refused.status_code == 429
    assert refused.json()["type"].endswith("/quota-exhausted")
    assert '"daily";q=3' in refused.headers["ratelimit-policy"]
    assert refused.headers["ratelimit"].startswith('"daily";r=0')


async def test_clients_have_separate_buckets(probe_app: Litestar, tiny_plans: None) -> None:
    first = await signed_caller(probe_app, rate_plan="test-burst")
    second = await signed_caller(probe_app, rate_plan="test-burst")
    for _ in range(2):
        await first.call("GET", "/api/v1/security-probe/a1")
    assert (await first.call("GET", "/api/v1/security-probe/a1")).status_code == 429
    assert (await second.call("GET", "/api/v1/security-probe/a1")).status_code == 200


@pytest.mark.skipif(
    not REDIS_URL, reason="set PUHUI_TEST_REDIS_URL to test limits shared by workers"
)
async def test_quota_is_shared_by_two_workers_through_redis(
    settings: Settings, tiny_plans: None
) -> None:
    worker_a, worker_b = create_app(settings), create_app(settings)
    for worker in (worker_a, worker_b):
        install_probe_routes(worker)
    async with worker_a.lifespan(), worker_b.lifespan():
        caller = await signed_caller(worker_a, rate_plan="test-quota")
        via_b = http_client(worker_b)
        codes = []
        for i in range(4):
            caller.http = via_b if i % 2 else http_client(worker_a)
            codes.append((await caller.call("GET", "/api/v1/security-probe/a1")).status_code)
    assert codes == [200, 200, 200, 429]
