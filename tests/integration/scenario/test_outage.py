"""The outage plan (JR/T 0269 6.3.2 d) and the consent gate mid-sync (6.1), with fault injection
in the simulators: Retry-After, timeouts, malformed payloads, the circuit, degraded mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from connectors.consent import ConsentGrant
from connectors.personas import PersonaProfile, persona
from connectors.scenario import ConnectorRuntime
from connectors.testing import SleepRecorder, set_faults
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession
from tests.builders import create_tenant, member_client
from tests.conftest import freeze_clock
from tests.integration.scenario.conftest import control_headers
from tests.scenario_builders import create_consent, create_instance, every_item

from puhui.clock import FrozenClock
from puhui.consent.models import Consent, ConsentStatus
from puhui.db.session import tenant_bypass
from puhui.outbound import CircuitPolicy, CircuitState, RetryPolicy, UpstreamBreakers
from puhui.scenario.breakers import SharedUpstreamBreakers, connector_breakers
from puhui.scenario.consent import consent_grant
from puhui.scenario.featurestore import latest_features
from puhui.scenario.models import ScenarioRecord, SyncOutcome, SyncRun
from puhui.scenario.service import SyncService
from puhui.tenancy.models import Tenant, TenantKind
from puhui.tenancy.subject import AuthSubject

pytestmark = pytest.mark.anyio
P = persona(PersonaProfile.HEALTHY)


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    with freeze_clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as clock:
        yield clock


def _partner(tenant: Tenant) -> AuthSubject:
    return AuthSubject(
        kind="member",
        tenant_id=tenant.id,
        tenant_kind=TenantKind.SCENARIO_PROVIDER,
        member_id=uuid.uuid4(),
        roles=frozenset({"owner"}),
    )


def _runtime(sleeps: SleepRecorder, breakers: UpstreamBreakers) -> ConnectorRuntime:
    return ConnectorRuntime(
        breakers=breakers,
        retry=RetryPolicy(attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.0),
        sleep=sleeps,
    )


async def _pull(
    app: Litestar,
    tenant: Tenant,
    instance_id: uuid.UUID,
    consent_id: uuid.UUID,
    *,
    sleeps: SleepRecorder | None = None,
    breakers: UpstreamBreakers | None = None,
    streams: list[str] | None = None,
) -> SyncRun:
    breakers = breakers or UpstreamBreakers()
    async with app.state.db.unit_of_work(tenant.id) as session:
        service = SyncService(
            session,
            _partner(tenant),
            breakers=breakers,
            runtime=_runtime(sleeps or SleepRecorder(), breakers),
        )
        return await service.pull(instance_id, consent_id, streams)


async def _setup(
    app: Litestar, upstreams: dict[str, str], connector: str = "tax"
) -> tuple[Tenant, uuid.UUID, uuid.UUID]:
    tenant = await create_tenant(app)
    instance = await create_instance(app, tenant, connector, upstreams[connector])
    consent = await create_consent(app, tenant, P.uscc, every_item(connector))
    return tenant, instance.id, consent.id


async def test_retries_wait_as_long_as_retry_after_says(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant, instance_id, consent_id = await _setup(app, upstreams)
    set_faults(upstreams["tax"], control_headers("tax"), fail_next=2, retry_after_s=3)
    sleeps = SleepRecorder()
    run = await _pull(app, tenant, instance_id, consent_id, sleeps=sleeps)
    assert run.outcome is SyncOutcome.SUCCEEDED
    assert sleeps.waits == [3.0, 3.0]


async def test_a_slow_upstream_times_out_and_the_retry_succeeds(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant = await create_tenant(app)
    instance = await create_instance(app, tenant, "payroll", upstreams["payroll"])
    async with app.state.db.unit_of_work(tenant.id) as session:
        from puhui.scenario.models import ConnectorInstance

        row = await session.get(ConnectorInstance, instance.id)
        assert row is not None
        row.config = {**row.config, "timeout_s": 0.3}
    consent = await create_consent(app, tenant, P.uscc, every_item("payroll"))
    set_faults(upstreams["payroll"], control_headers("payroll"), slow_next=1, slow_s=1.0)
    sleeps = SleepRecorder()
    run = await _pull(app, tenant, instance.id, consent.id, sleeps=sleeps)
    assert run.outcome is SyncOutcome.SUCCEEDED
    assert len(sleeps.waits) == 1  # one timed-out attempt, then success


async def test_a_malformed_payload_is_a_data_error_and_stores_nothing_of_it(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant, instance_id, consent_id = await _setup(app, upstreams)
    set_faults(upstreams["tax"], control_headers("tax"), malformed_next=1)
    run = await _pull(app, tenant, instance_id, consent_id, streams=["vat_returns"])
    assert run.outcome is SyncOutcome.FAILED
    assert run.errors[0]["kind"] == "UpstreamDataError"
    assert run.records_inserted == 0


async def test_outage_serves_last_good_data_with_staleness_after_a_restart(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str], frozen: FrozenClock
) -> None:
    tenant, instance_id, consent_id = await _setup(app, upstreams, "utilities")
    live = await _pull(app, tenant, instance_id, consent_id)
    assert live.outcome is SyncOutcome.SUCCEEDED
    assert not live.degraded

    frozen.advance(timedelta(hours=5))
    # A second instance reads from scratch; a fresh service and session stand for a restart.
    other = await create_instance(app, tenant, "utilities", upstreams["utilities"])
    set_faults(upstreams["utilities"], control_headers("utilities"), fail_next=-1)
    degraded = await _pull(app, tenant, other.id, consent_id)

    assert degraded.outcome is SyncOutcome.DEGRADED
    assert degraded.degraded
    assert degraded.staleness_s == 5 * 3600
    assert degraded.records_in == live.records_in
    assert degraded.records_inserted == degraded.records_updated == 0  # the same data
    async with app.state.db.unit_of_work() as session:
        features = await latest_features(session, P.uscc)
    assert features.staleness_by_source["utilities"] == timedelta(hours=5)
    assert features.values["utilities.arrears_count"].data_as_of == live.started_at


async def test_the_circuit_opens_and_operators_see_it(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant, instance_id, consent_id = await _setup(app, upstreams, "procurement")
    operator, _bank, _member = await member_client(app, ["operator"], kind=TenantKind.BANK)
    # The app's breakers: shared through Redis when it is configured, else this process's.
    shared = connector_breakers(app.state)
    breaker = shared.breaker("procurement")
    set_faults(upstreams["procurement"], control_headers("procurement"), fail_next=-1)
    try:
        run = await _pull(app, tenant, instance_id, consent_id, breakers=shared)
        # Failed, or degraded if another test left last-good pages of this persona behind.
        assert run.outcome in {SyncOutcome.FAILED, SyncOutcome.DEGRADED}
        assert breaker.state is CircuitState.OPEN
        health = await operator.get("/api/v1/operator/connectors/health")
        assert health.status_code == 200
        mine = next(h for h in health.json() if h["instance_id"] == str(instance_id))
        assert mine["circuit"]["state"] == "open"
        assert mine["last_outcome"] == run.outcome.value
        partner_view = await (await member_client(app, ["owner"]))[0].get(
            "/api/v1/operator/connectors/health"
        )
        assert partner_view.status_code == 403
    finally:
        breaker.record_success()
        if isinstance(shared, SharedUpstreamBreakers):
            await shared.push("procurement")


async def test_the_circuit_fails_fast_without_touching_the_upstream(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant, instance_id, consent_id = await _setup(app, upstreams)
    breakers = UpstreamBreakers(CircuitPolicy(failure_threshold=2, open_for=timedelta(minutes=5)))
    set_faults(upstreams["tax"], control_headers("tax"), fail_next=-1)
    await _pull(app, tenant, instance_id, consent_id, breakers=breakers, streams=["vat_returns"])
    assert breakers.breaker("tax").state is CircuitState.OPEN
    sleeps = SleepRecorder()
    run = await _pull(
        app, tenant, instance_id, consent_id, breakers=breakers, sleeps=sleeps, streams=["arrears"]
    )
    assert run.outcome in {SyncOutcome.FAILED, SyncOutcome.DEGRADED}
    assert "circuit open" in run.errors[0]["message"]
    assert sleeps.waits == []


async def test_revoking_between_pages_stops_the_sync(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant = await create_tenant(app)
    instance = await create_instance(app, tenant, "tax", upstreams["tax"])
    async with app.state.db.unit_of_work(tenant.id) as session:
        from puhui.scenario.models import ConnectorInstance

        row = await session.get(ConnectorInstance, instance.id)
        assert row is not None
        row.config = {**row.config, "page_size": 5}
    consent = await create_consent(app, tenant, P.uscc, every_item("tax"))
    checks = 0

    async def revoking_after_first_page(
        session: AsyncSession, consent_id: uuid.UUID, tenant_id: uuid.UUID
    ) -> ConsentGrant:
        grant = await consent_grant(session, consent_id, tenant_id)
        live = grant.is_still_valid

        async def still_valid() -> bool:
            nonlocal checks
            checks += 1
            if checks == 3:  # before the second page: the customer revokes in the consent centre
                with tenant_bypass(session, reason="test.revoke"):
                    stored = await session.get(Consent, consent_id)
                    assert stored is not None
                    stored.status = ConsentStatus.REVOKED
                    await session.flush()
            return await live()

        return ConsentGrant(
            consent_id=grant.consent_id,
            subject_uscc=grant.subject_uscc,
            data_items=grant.data_items,
            valid_until=grant.valid_until,
            is_still_valid=still_valid,
        )

    async with app.state.db.unit_of_work(tenant.id) as session:
        service = SyncService(session, _partner(tenant), grants=revoking_after_first_page)
        run = await service.pull(instance.id, consent.id, ["vat_returns"])
    assert run.outcome is SyncOutcome.STOPPED
    # Check 1 is the gate before the sync, check 2 admits page one, check 3 refuses page two.
    assert run.records_in == 5
    async with app.state.db.unit_of_work() as session:
        from sqlalchemy import func, select

        stored = await session.scalar(
            select(func.count())
            .select_from(ScenarioRecord)
            .where(ScenarioRecord.consent_id == str(consent.id))
        )
    assert stored == 5


async def test_a_revoked_consent_fetches_nothing(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    from tests.scenario_builders import revoke_consent

    tenant, instance_id, consent_id = await _setup(app, upstreams, "payroll")
    await revoke_consent(app, consent_id)
    with pytest.raises(Exception, match="not authorised"):
        await _pull(app, tenant, instance_id, consent_id)
