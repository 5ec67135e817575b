"""Builders: small functions that make real rows (through the same code paths the app uses)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from litestar import Litestar

from puhui.db.session import tenant_bypass
from puhui.identity.passwords import hash_password
from puhui.tenancy.models import Member, MemberStatus, Tenant, TenantKind, TenantStatus
from tests.conftest import http_client

PASSWORD = "Correct-Horse-42"
_HASH = hash_password(PASSWORD)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def create_tenant(
    app: Litestar,
    *,
    kind: TenantKind = TenantKind.SCENARIO_PROVIDER,
    status: TenantStatus = TenantStatus.ACTIVE,
) -> Tenant:
    code = unique("t")
    async with app.state.db.unit_of_work() as session:
        tenant = Tenant(
            code=code,
            name=f"Tenant {code}",
            kind=kind,
            status=status,
            plan="sandbox",
            is_sandbox=kind is not TenantKind.BANK,
        )
        session.add(tenant)
    return tenant


async def create_member(
    app: Litestar,
    tenant: Tenant,
    roles: Iterable[str] = ("owner",),
    *,
    status: MemberStatus = MemberStatus.ACTIVE,
) -> Member:
    async with app.state.db.unit_of_work(tenant.id) as session:
        member = Member(
            tenant_id=tenant.id,
            email=f"{unique('m')}@example.com",
            display_name="Test Member",
            roles=sorted(roles),
            password_hash=_HASH,
            status=status,
        )
        session.add(member)
    return member


async def login(client: httpx.AsyncClient, member: Member) -> str:
    """Sign in; the client keeps the cookie. Returns the CSRF token to send on unsafe requests."""
    response = await client.post(
        "/api/v1/session", json={"email": member.email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return str(response.json()["csrf_token"])


async def member_client(
    app: Litestar,
    roles: Iterable[str] = ("owner",),
    *,
    kind: TenantKind = TenantKind.SCENARIO_PROVIDER,
) -> tuple[httpx.AsyncClient, Tenant, Member]:
    """A signed-in client for a new member of a new tenant (its own cookie jar).

    Use it inside a test that already runs the app (the ``client`` fixture runs the lifespan once);
    the ASGI transport holds no sockets, so it needs no closing.
    """
    tenant = await create_tenant(app, kind=kind)
    member = await create_member(app, tenant, roles)
    client = http_client(app)
    await login(client, member)
    return client, tenant, member


async def row_snapshot(app: Litestar, model: type[Any], row_id: uuid.UUID) -> dict[str, Any] | None:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.snapshot"):
            obj = await session.get(model, row_id)
            if obj is None:
                return None
            return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}
