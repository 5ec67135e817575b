"""Anomaly alerts: a spike of replays from one client raises an operator alert and a partner
event; bank staff list and acknowledge it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import member_client
from tests.conftest import http_client
from tests.security_builders import install_probe_routes, signed_caller

from puhui.app import create_app
from puhui.config import Settings
from puhui.db.engine import create_engine
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.security.alerts import THRESHOLDS, AnomalyMonitor
from puhui.security.models import AlertKind, SecurityAlert
from puhui.tenancy.models import TenantKind
from puhui.webhooks.models import PartnerEvent

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("PUHUI_TEST_REDIS_URL")


@pytest.fixture
async def probe_app(app: Litestar) -> AsyncIterator[Litestar]:
    install_probe_routes(app)
    async with app.lifespan():
        yield app


async def test_replay_spike_raises_an_alert_operators_can_acknowledge(probe_app: Litestar) -> None:
    caller = await signed_caller(probe_app)
    assert (await caller.call("GET", "/api/v1/security-probe/a1", nonce="same")).status_code == 200
    for _ in range(THRESHOLDS[AlertKind.REPLAY_ATTEMPTS].count):
        replay = await caller.call("GET", "/api/v1/security-probe/a1", nonce="same")
        assert replay.status_code == 401

    staff, _, _ = await member_client(probe_app, ("operator",), kind=TenantKind.BANK)
    listed = await staff.get("/api/v1/operator/alerts/", params={"status": "open"})
    assert listed.status_code == 200, listed.text
    mine = [a for a in listed.json() if a["client_id"] == caller.client.client_id]
    assert len(mine) == 1  # one alert per spike, not one per replay
    alert = mine[0]
    assert alert["kind"] == "replay_attempts"
    assert alert["tenant_id"] == str(caller.tenant.id)
    assert alert["occurrences"] >= THRESHOLDS[AlertKind.REPLAY_ATTEMPTS].count

    acked = await staff.post(
        f"/api/v1/operator/alerts/{alert['id']}/acknowledge", json={"note": "partner informed"}
    )
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    again = await staff.post(f"/api/v1/operator/alerts/{alert['id']}/acknowledge", json={})
    assert again.status_code == 409

    async with probe_app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.read_events"):
            events = (
                await session.scalars(
                    select(PartnerEvent).where(
                        PartnerEvent.tenant_id == caller.tenant.id,
                        PartnerEvent.event_type == "security.alert",
                    )
                )
            ).all()
    assert [e.payload["kind"] for e in events] == ["replay_attempts"]


async def test_partners_cannot_list_alerts(probe_app: Litestar) -> None:
    partner, _, _ = await member_client(probe_app, ("owner",))
    assert (await partner.get("/api/v1/operator/alerts/")).status_code == 403


async def test_a_few_failures_raise_nothing(probe_app: Litestar) -> None:
    caller = await signed_caller(probe_app)
    await caller.call("GET", "/api/v1/security-probe/a1", nonce="twice")
    await caller.call("GET", "/api/v1/security-probe/a1", nonce="twice")
    staff, _, _ = await member_client(probe_app, ("operator",), kind=TenantKind.BANK)
    listed = await staff.get("/api/v1/operator/alerts/")
    assert all(a["client_id"] != caller.client.client_id for a in listed.json())


@pytest.mark.skipif(
    not REDIS_URL, reason="set PUHUI_TEST_REDIS_URL to test alert counters shared by workers"
)
async def test_a_spike_split_across_two_workers_raises_one_alert(settings: Settings) -> None:
    """Replays alternate between two app instances sharing Redis: neither sees the threshold on
    its own, together they cross it once, and exactly one alert is stored."""
    worker_a, worker_b = create_app(settings), create_app(settings)
    for worker in (worker_a, worker_b):
        install_probe_routes(worker)
    async with worker_a.lifespan(), worker_b.lifespan():
        caller = await signed_caller(worker_a)
        via = [http_client(worker_a), http_client(worker_b)]
        assert (await caller.call("GET", "/api/v1/security-probe/a1", nonce="dup")).status_code == (
            200
        )
        replays = 2 * THRESHOLDS[AlertKind.REPLAY_ATTEMPTS].count
        for i in range(replays):
            caller.http = via[i % 2]
            refused = await caller.call("GET", "/api/v1/security-probe/a1", nonce="dup")
            assert refused.status_code == 401
        async with worker_a.state.db.unit_of_work() as session:
            with tenant_bypass(session, reason="test.read_alerts"):
                alerts = (
                    await session.scalars(
                        select(SecurityAlert).where(
                            SecurityAlert.client_id == caller.client.client_id
                        )
                    )
                ).all()
    assert [a.kind for a in alerts] == [AlertKind.REPLAY_ATTEMPTS]
    assert alerts[0].occurrences == THRESHOLDS[AlertKind.REPLAY_ATTEMPTS].count


async def test_memory_counters_are_per_process(settings: Settings) -> None:
    """Without Redis each monitor counts alone (the documented embedded-mode limit)."""
    first = AnomalyMonitor(SessionFactory(create_engine(settings)))
    second = AnomalyMonitor(SessionFactory(create_engine(settings)))
    threshold = THRESHOLDS[AlertKind.REPLAY_ATTEMPTS].count
    for _ in range(threshold - 1):
        assert await first.count(AlertKind.REPLAY_ATTEMPTS, "cli-x") is None
        assert await second.count(AlertKind.REPLAY_ATTEMPTS, "cli-x") is None
    assert await first.count(AlertKind.REPLAY_ATTEMPTS, "cli-x") == threshold
    assert await first.count(AlertKind.REPLAY_ATTEMPTS, "cli-x") is None  # quiet for the window
