"""Builders for the scenario domain: authorised consents, connector instances, consent scopes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta

from litestar import Litestar

from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentPurpose, ConsentStatus
from puhui.db.session import tenant_bypass
from puhui.scenario.controllers import PUSH_SCOPE
from puhui.scenario.credentials import seal_config
from puhui.scenario.hosted import hosted_connector
from puhui.scenario.models import ConnectorInstance, InstanceStatus
from puhui.scenario.sandbox import sandbox_config
from puhui.tenancy.models import Tenant
from tests.builders import unique
from tests.conftest import http_client
from tests.security_builders import SignedCaller, access_token
from tests.security_builders import create_client as create_signing_client

CONNECTORS = ("procurement", "utilities", "tax", "payroll")


def every_item(*names: str) -> dict[str, list[str]]:
    """Every data item each named connector's streams need: a consent covering all of them."""
    out: dict[str, list[str]] = {}
    for name in names:
        connector = hosted_connector(name)
        out[name] = sorted({i for s in connector.catalog().streams for i in s.data_items})
    return out


async def create_consent(
    app: Litestar,
    tenant: Tenant,
    uscc: str,
    items: Mapping[str, Iterable[str]],
    *,
    purposes: Iterable[ConsentPurpose] = (ConsentPurpose.CREDIT_ASSESSMENT,),
    valid_for: timedelta = timedelta(days=90),
) -> Consent:
    """An authorised consent the partner ``tenant`` obtained from the enterprise ``uscc``."""
    now = utcnow()
    async with app.state.db.unit_of_work(tenant.id) as session:
        consent = Consent(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            client_id=unique("client"),
            enterprise_uscc=uscc,
            status=ConsentStatus.AUTHORISED,
            purposes=sorted(p.value for p in purposes),
            data_items=[{"source": s, "items": sorted(i)} for s, i in items.items()],
            validity_days=valid_for.days,
            uses_per_day=100,
            authorise_by=now + timedelta(hours=1),
            granted_at=now,
            valid_until=now + valid_for,
        )
        session.add(consent)
    return consent


async def revoke_consent(app: Litestar, consent_id: uuid.UUID) -> None:
    """The customer revokes: from now on every liveness re-check of the consent fails."""
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.revoke"):
            consent = await session.get(Consent, consent_id)
            assert consent is not None
            consent.status = ConsentStatus.REVOKED
            consent.ended_at = utcnow()
            consent.ended_by = "customer"
            await session.flush()


async def create_instance(
    app: Litestar, tenant: Tenant, connector: str, base_url: str, *, name: str | None = None
) -> ConnectorInstance:
    """A sandbox instance of ``connector`` pointing at a simulator."""
    async with app.state.db.unit_of_work(tenant.id) as session:
        instance = ConnectorInstance(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            name=name or unique(f"{connector}-inst"),
            connector=connector,
            status=InstanceStatus.ACTIVE,
            is_sandbox=True,
        )
        seal_config(
            instance, hosted_connector(connector).spec(), sandbox_config(connector, base_url)
        )
        session.add(instance)
    return instance


async def push_caller(app: Litestar, tenant: Tenant) -> SignedCaller:
    """The partner's OAuth client with the push scope, signing every call like its SDK (RFC 9421
    over @method, @target-uri and Content-Digest, fresh nonce each time)."""
    tenant, client, keys = await create_signing_client(app, tenant)
    token = access_token(app, tenant, client, scopes=[PUSH_SCOPE])
    return SignedCaller(app, http_client(app), tenant, client, keys, token)
