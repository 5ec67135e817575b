"""The sandbox upstreams: the four simulators on loopback and one instance of each per partner.

``./dev serve`` runs the app with ``sandbox_upstreams`` in its lifespan: the simulators start on
free loopback ports, and every sandbox scenario-provider tenant gets (or has refreshed) an
instance per connector pointing at them, so the portal and the API can sync the personas.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any

import msgspec
from connectors.payroll import simulator as payroll
from connectors.procurement import simulator as procurement
from connectors.simulators import RunningSimulator, serve_simulator
from connectors.tax import simulator as tax
from connectors.utilities import simulator as utilities
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from puhui.db.session import SessionFactory
from puhui.scenario.credentials import seal_config
from puhui.scenario.hosted import hosted_connector
from puhui.scenario.models import ConnectorInstance, InstanceStatus
from puhui.scenario.repository import InstanceRepository
from puhui.tenancy.models import Tenant, TenantKind

__all__ = [
    "SANDBOX_UPSTREAMS",
    "SandboxUpstream",
    "sandbox_config",
    "sandbox_upstreams",
    "seed_sandbox_instances",
    "start_simulators",
]

log = logging.getLogger("puhui.scenario.sandbox")


class SandboxUpstream(msgspec.Struct, frozen=True):
    """A built-in's simulator and the published sandbox credential it accepts."""

    simulator: Callable[[], Litestar]
    credential_field: str
    credential: str


SANDBOX_UPSTREAMS: Mapping[str, SandboxUpstream] = MappingProxyType(
    {
        "procurement": SandboxUpstream(
            procurement.create_simulator, "api_key", procurement.SANDBOX_API_KEY
        ),
        "utilities": SandboxUpstream(
            utilities.create_simulator, "api_key", utilities.SANDBOX_API_KEY
        ),
        "tax": SandboxUpstream(tax.create_simulator, "access_token", tax.SANDBOX_TOKEN),
        "payroll": SandboxUpstream(payroll.create_simulator, "api_key", payroll.SANDBOX_API_KEY),
    }
)


def sandbox_config(connector: str, base_url: str) -> dict[str, Any]:
    """The config of a sandbox instance of ``connector`` served at ``base_url``."""
    upstream = SANDBOX_UPSTREAMS[connector]
    return {"base_url": base_url, upstream.credential_field: upstream.credential}


def start_simulators() -> dict[str, RunningSimulator]:
    """Serve every built-in's simulator on a free loopback port."""
    return {name: serve_simulator(up.simulator()) for name, up in SANDBOX_UPSTREAMS.items()}


async def seed_sandbox_instances(db: SessionFactory, base_urls: Mapping[str, str]) -> int:
    """Give every sandbox scenario provider a ``sandbox-<connector>`` instance; returns how many
    were created. Existing ones are pointed at the simulators' current ports (idempotent)."""
    created = 0
    async with db.unit_of_work() as session:
        stmt = select(Tenant).where(
            Tenant.kind == TenantKind.SCENARIO_PROVIDER, Tenant.is_sandbox.is_(True)
        )
        tenants = (await session.execute(stmt)).scalars().all()
    for tenant in tenants:
        async with db.unit_of_work(tenant.id) as session:
            instances = InstanceRepository(session)
            for name, base_url in sorted(base_urls.items()):
                spec = hosted_connector(name).spec()
                found = await instances.by_name(f"sandbox-{name}")
                if found is None:
                    found = ConnectorInstance(
                        id=uuid.uuid4(),
                        tenant_id=tenant.id,
                        name=f"sandbox-{name}",
                        connector=name,
                        status=InstanceStatus.ACTIVE,
                        is_sandbox=True,
                    )
                    instances.add(found)
                    created += 1
                seal_config(found, spec, sandbox_config(name, base_url))
    return created


@asynccontextmanager
async def sandbox_upstreams(app: Litestar) -> AsyncIterator[None]:
    """Lifespan: in the sandbox (not under test) serve the simulators and seed their instances."""
    settings = app.state.settings
    if not settings.sandbox or settings.environment == "test":
        yield
        return
    running = start_simulators()
    try:
        urls = {name: sim.base_url for name, sim in running.items()}
        try:
            created = await seed_sandbox_instances(app.state.db, urls)
            log.info(
                "sandbox simulators serving",
                extra={"upstreams": urls, "instances_created": created},
            )
        except SQLAlchemyError:
            log.warning("sandbox instances not seeded: run `puhui db upgrade` first")
        yield
    finally:
        for sim in running.values():
            sim.stop()
