"""Isolation builders for scenario-connector resources: instances and their sync runs."""

from __future__ import annotations

import uuid

from litestar import Litestar

from puhui.clock import utcnow
from puhui.scenario.models import ConnectorInstance, SyncOutcome, SyncRun
from puhui.tenancy.models import Tenant
from tests.isolation.registry import Victim, register_body, register_builder
from tests.scenario_builders import create_instance


@register_builder("connector_instance")
async def connector_instance(app: Litestar, tenant: Tenant) -> Victim:
    row = await create_instance(app, tenant, "tax", "http://127.0.0.1:9")
    return Victim({"instance_id": str(row.id)}, ConnectorInstance, row.id)


@register_builder("sync_run")
async def sync_run(app: Litestar, tenant: Tenant) -> Victim:
    instance = await create_instance(app, tenant, "payroll", "http://127.0.0.1:9")
    async with app.state.db.unit_of_work(tenant.id) as session:
        run = SyncRun(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            instance_id=instance.id,
            connector="payroll",
            channel="pull_api",
            consent_id=str(uuid.uuid4()),
            uscc="91440300MA5F7K2A72",
            streams=["payroll_months"],
            started_at=utcnow(),
            outcome=SyncOutcome.SUCCEEDED,
            errors=[],
        )
        session.add(run)
    return Victim({"instance_id": str(instance.id), "run_id": str(run.id)}, SyncRun, run.id)


_CONSENT = "9f0e4c1e-3a57-4f7e-9d51-1f0c3b0c7e11"
register_body("RunConnectorSync", {"consent_id": _CONSENT})
register_body(
    "PushScenarioRecords", {"consent_id": _CONSENT, "stream": "payroll_months", "items": []}
)
register_body(
    "ImportScenarioFile",
    {"stream": "vat_returns", "format": "csv", "consent_ids": [_CONSENT], "content": "a,b\n1,2\n"},
)
