"""Members of one's own organisation, and the bank operator's audited reach across tenants."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_member, create_tenant, login, member_client
from tests.conftest import http_client

from puhui.audit.models import AuditRecord
from puhui.tenancy.models import TenantKind, TenantStatus

pytestmark = pytest.mark.anyio


async def _audit_actions(app: Litestar, target_tenant_id: object) -> list[str]:
    async with app.state.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditRecord.action).where(AuditRecord.target_tenant_id == target_tenant_id)
        )
        return list(rows.scalars())


async def test_owner_manages_members_and_role_changes_are_audited(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    await login(client, await create_member(app, tenant, ["owner"]))
    created = await client.post(
        "/api/v1/members",
        json={
            "email": "Dev@Partner.cn",
            "display_name": "Dev",
            "roles": ["developer"],
            "password": "Long-enough-pass",
        },
    )
    assert created.status_code == 201
    member = created.json()
    assert member["email"] == "dev@partner.cn"
    assert member["status"] == "active"
    listed = await client.get("/api/v1/members")
    assert {m["id"] for m in listed.json()} >= {member["id"]}
    updated = await client.patch(
        f"/api/v1/members/{member['id']}", json={"version": member["version"], "roles": ["admin"]}
    )
    assert updated.status_code == 200
    assert updated.json()["roles"] == ["admin"]
    stale = await client.patch(
        f"/api/v1/members/{member['id']}", json={"version": member["version"], "display_name": "X"}
    )
    assert stale.status_code == 409
    assert (await client.delete(f"/api/v1/members/{member['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/members/{member['id']}")).json()["status"] == "disabled"
    assert {"member.created", "member.roles_changed", "member.disabled"} <= set(
        await _audit_actions(app, tenant.id)
    )


async def test_partners_cannot_grant_bank_roles_and_viewers_cannot_change_anything(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    await login(client, await create_member(app, tenant, ["admin"]))
    bank_role = await client.post(
        "/api/v1/members", json={"email": "x@y.cn", "display_name": "X", "roles": ["operator"]}
    )
    assert bank_role.status_code == 422
    owner = await client.post(
        "/api/v1/members", json={"email": "o@y.cn", "display_name": "O", "roles": ["owner"]}
    )
    assert owner.status_code == 403  # only an owner makes an owner
    viewer, _, _ = await member_client(app, ("viewer",))
    assert (
        await viewer.post(
            "/api/v1/members", json={"email": "v@y.cn", "display_name": "V", "roles": ["viewer"]}
        )
    ).status_code == 403


async def test_the_last_owner_cannot_be_removed(app: Litestar, client: httpx.AsyncClient) -> None:
    tenant = await create_tenant(app)
    owner = await create_member(app, tenant, ["owner"])
    other_owner = await create_member(app, tenant, ["owner"])
    await login(client, owner)
    assert (await client.delete(f"/api/v1/members/{other_owner.id}")).status_code == 204
    downgrade_self = await client.patch(
        f"/api/v1/members/{owner.id}", json={"version": 1, "roles": ["admin"]}
    )
    assert downgrade_self.status_code == 409


async def test_partners_cannot_use_operator_routes(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    await login(client, await create_member(app, tenant, ["owner"]))
    assert (await client.get("/api/v1/operator/tenants")).status_code == 403
    assert (await client.get(f"/api/v1/operator/tenants/{tenant.id}")).status_code == 403


async def test_operator_reviews_partners_through_audited_routes(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    bank = await create_tenant(app, kind=TenantKind.BANK)
    await login(client, await create_member(app, bank, ["operator"]))
    partner = await create_tenant(app, status=TenantStatus.PENDING)
    partner_owner = await create_member(app, partner, ["owner"])

    assert (await client.get(f"/api/v1/operator/tenants/{partner.id}")).json()[
        "status"
    ] == "pending"
    members = await client.get(f"/api/v1/operator/tenants/{partner.id}/members")
    assert [m["id"] for m in members.json()] == [str(partner_owner.id)]
    activated = await client.post(
        f"/api/v1/operator/tenants/{partner.id}/activate", json={"reason": "review passed"}
    )
    assert activated.json()["status"] == "active"
    again = await client.post(
        f"/api/v1/operator/tenants/{partner.id}/activate", json={"reason": "twice"}
    )
    assert again.status_code == 409
    listed = await client.get("/api/v1/operator/tenants", params={"status": "active", "limit": 200})
    assert listed.status_code == 200
    suspended = await client.post(
        f"/api/v1/operator/tenants/{partner.id}/suspend", json={"reason": "fraud alert"}
    )
    assert suspended.json()["status"] == "suspended"
    assert (
        await client.post(f"/api/v1/operator/tenants/{bank.id}/suspend", json={"reason": "nope"})
    ).status_code == 403
    actions = await _audit_actions(app, partner.id)
    assert {
        "operator.tenant_viewed",
        "operator.members_viewed",
        "operator.tenant_active",
        "operator.tenant_suspended",
    } <= set(actions)

    # a suspended partner's members see their status and nothing else
    partner_client = http_client(app)
    await login(partner_client, partner_owner)
    assert (await partner_client.get("/api/v1/tenant")).json()["status"] == "suspended"
    assert (await partner_client.get("/api/v1/members")).status_code == 403


async def test_operator_creates_a_partner(app: Litestar, client: httpx.AsyncClient) -> None:
    bank = await create_tenant(app, kind=TenantKind.BANK)
    await login(client, await create_member(app, bank, ["operator"]))
    code = f"p-{bank.id.hex[:8]}"
    body = {"code": code, "name": "新伙伴", "kind": "channel_app"}
    created = await client.post("/api/v1/operator/tenants", json=body)
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    assert (await client.post("/api/v1/operator/tenants", json=body)).status_code == 409
