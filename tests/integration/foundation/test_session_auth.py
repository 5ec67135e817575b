"""Portal sign-in: cookie session, CSRF on unsafe requests, lock-out after repeated failures."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import PASSWORD, create_member, create_tenant, login

from puhui.audit.models import AuditRecord

pytestmark = pytest.mark.anyio


async def test_sign_in_sets_a_secure_session_cookie_and_returns_a_csrf_token(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    member = await create_member(app, tenant, ["developer"])
    response = await client.post(
        "/api/v1/session", json={"email": member.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 201
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    body = response.json()
    assert body["tenant_id"] == str(tenant.id)
    assert body["roles"] == ["developer"]
    assert len(body["csrf_token"]) > 20
    me = await client.get("/api/v1/session")
    assert me.status_code == 200
    assert me.json()["member_id"] == str(member.id)


async def test_wrong_password_and_unknown_account_look_the_same(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    member = await create_member(app, tenant)
    wrong = await client.post(
        "/api/v1/session", json={"email": member.email, "password": "not-the-password"}
    )
    unknown = await client.post(
        "/api/v1/session", json={"email": "nobody@example.com", "password": "whatever-123"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    member = await create_member(app, tenant)
    max_failures = app.state.settings.login_max_failures
    statuses = [
        (
            await client.post(
                "/api/v1/session", json={"email": member.email, "password": "bad-password!"}
            )
        ).status_code
        for _ in range(max_failures)
    ]
    assert statuses == [401] * (max_failures - 1) + [423]
    locked = await client.post(
        "/api/v1/session", json={"email": member.email, "password": PASSWORD}
    )
    assert locked.status_code == 423
    assert int(locked.headers["retry-after"]) > 0
    async with app.state.db.unit_of_work() as session:
        actions = (
            (
                await session.execute(
                    select(AuditRecord.action).where(AuditRecord.actor_member_id == member.id)
                )
            )
            .scalars()
            .all()
        )
    assert actions.count("login.failed") == max_failures
    assert "login.locked" in actions


async def test_unsafe_requests_need_the_csrf_token(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    owner = await create_member(app, tenant, ["owner"])
    token = await login(client, owner)
    del client.headers["X-CSRF-Token"]
    body = {"email": "new@example.com", "display_name": "New", "roles": ["viewer"]}
    refused = await client.post("/api/v1/members", json=body)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/problems/csrf-failed")
    accepted = await client.post("/api/v1/members", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


async def test_sign_out_ends_the_session(app: Litestar, client: httpx.AsyncClient) -> None:
    tenant = await create_tenant(app)
    await login(client, await create_member(app, tenant))
    assert (await client.delete("/api/v1/session")).status_code == 204
    assert (await client.get("/api/v1/session")).status_code == 401


async def test_disabled_members_cannot_sign_in(app: Litestar, client: httpx.AsyncClient) -> None:
    from puhui.tenancy.models import MemberStatus

    tenant = await create_tenant(app)
    member = await create_member(app, tenant, status=MemberStatus.DISABLED)
    response = await client.post(
        "/api/v1/session", json={"email": member.email, "password": PASSWORD}
    )
    assert response.status_code == 401
