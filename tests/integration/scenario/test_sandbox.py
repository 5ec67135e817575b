"""The sandbox wiring: every sandbox scenario provider gets one instance per connector, pointed
at the running simulators, and seeding again changes only the addresses."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_tenant
from tests.scenario_builders import CONNECTORS

from puhui.scenario.credentials import open_config
from puhui.scenario.hosted import hosted_connector
from puhui.scenario.models import ConnectorInstance
from puhui.scenario.sandbox import seed_sandbox_instances

pytestmark = pytest.mark.anyio


async def test_seeding_is_idempotent_and_follows_the_simulators(
    app: Litestar, client: httpx.AsyncClient, upstreams: dict[str, str]
) -> None:
    tenant = await create_tenant(app)
    await seed_sandbox_instances(app.state.db, upstreams)
    moved = {name: url.replace("127.0.0.1", "localhost") for name, url in upstreams.items()}
    assert await seed_sandbox_instances(app.state.db, moved) == 0
    async with app.state.db.unit_of_work(tenant.id) as session:
        rows = (await session.execute(select(ConnectorInstance))).scalars().all()
    assert sorted(r.name for r in rows) == sorted(f"sandbox-{c}" for c in CONNECTORS)
    for row in rows:
        assert row.is_sandbox
        config = open_config(row, hosted_connector(row.connector).spec())
        assert getattr(config, "base_url") == moved[row.connector]  # noqa: B009
