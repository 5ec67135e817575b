"""Discovery lists the scopes operations check, /jwks.json carries every public signing key,
software statements register one client only, and a revoked client's tokens stop at once."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from litestar import Litestar
from tests.builders import create_member, create_tenant, login
from tests.conftest import REDIS_URL, http_client
from tests.oauth_builders import (
    ISSUER,
    DPoPAuth,
    EcKey,
    RegisteredClient,
    assertion_form,
    create_client,
    token_with_dpop,
)

from puhui.app import create_app
from puhui.config import Settings
from puhui.gateway.catalogue import spec_of
from puhui.oauth.runtime import oauth_runtime
from puhui.oauth.software_statement import SoftwareStatement, issue_software_statement

pytestmark = pytest.mark.anyio
CALLER = "/api/v1/oauth/caller"


def _scopes_checked_by_routes(app: Litestar) -> set[str]:
    found: set[str] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            spec = spec_of(handler.opt or {})
            if spec is not None:
                found |= spec.scopes
    return found


async def test_discovery_lists_exactly_the_scopes_operations_check(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    expected = _scopes_checked_by_routes(app)
    assert {"consents", "offers", "applications"} <= expected
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        meta = (await client.get(path)).json()
        assert meta["scopes_supported"] == sorted(expected)


async def test_jwks_publishes_token_and_response_signing_keys(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    published = (await client.get("/jwks.json")).json()["keys"]
    by_kid = {key["kid"]: key for key in published}
    assert len(by_kid) == len(published)  # kids are unique
    token_key = oauth_runtime(app.state).keys.current().active
    response_key = app.state.gateway.response_keys.current().active
    assert token_key.kid != response_key.kid
    for key in (token_key, response_key):
        assert by_kid[key.kid]["use"] == "sig"
        assert by_kid[key.kid]["alg"] == key.alg
        assert "d" not in by_kid[key.kid]  # public halves only


def _statement(tenant_id: object) -> SoftwareStatement:
    return SoftwareStatement(
        software_id="payroll-app",
        tenant_id=str(tenant_id),
        client_name="Payroll app",
        redirect_uris=("https://payroll.example/cb",),
        scope=frozenset({"consents"}),
    )


async def test_a_software_statement_registers_one_client_only(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    runtime = oauth_runtime(app.state)
    signed = issue_software_statement(runtime.statement_keys, _statement(tenant.id), issuer=ISSUER)
    body = {"software_statement": signed, "jwks": {"keys": [EcKey().public_jwk]}}
    first = await client.post("/oauth/register", json=body)
    assert first.status_code == 201, first.text
    replay = await client.post("/oauth/register", json=body)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_software_statement"
    assert "already used" in replay.json()["error_description"]
    # Shared with every worker (Redis, or the database when several workers run without it).
    other_worker = create_app(_several_workers(app))
    async with other_worker.lifespan(), http_client(other_worker) as other:
        if not REDIS_URL:  # the statement was used in a memory store: use a fresh one here
            signed = issue_software_statement(
                runtime.statement_keys, _statement(tenant.id), issuer=ISSUER
            )
            body = {**body, "software_statement": signed}
            assert (await other.post("/oauth/register", json=body)).status_code == 201
        third_worker = create_app(_several_workers(app))
        async with third_worker.lifespan(), http_client(third_worker) as third:
            again = await third.post("/oauth/register", json=body)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_software_statement"
    # A fresh statement (new jti) for the same software still registers.
    fresh = issue_software_statement(runtime.statement_keys, _statement(tenant.id), issuer=ISSUER)
    second = await client.post("/oauth/register", json={**body, "software_statement": fresh})
    assert second.status_code == 201, second.text


async def test_a_refused_registration_does_not_use_up_the_statement(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    runtime = oauth_runtime(app.state)
    signed = issue_software_statement(runtime.statement_keys, _statement(tenant.id), issuer=ISSUER)
    bad = await client.post(
        "/oauth/register", json={"software_statement": signed, "jwks": {"keys": []}}
    )
    assert bad.json()["error"] == "invalid_client_metadata"
    good = await client.post(
        "/oauth/register",
        json={"software_statement": signed, "jwks": {"keys": [EcKey().public_jwk]}},
    )
    assert good.status_code == 201, good.text


def _several_workers(app: Litestar) -> Settings:
    """This app's settings as a worker of a multi-worker deployment (shared OAuth state)."""
    settings: Settings = app.state.settings
    return msgspec.structs.replace(settings, workers=2)


async def _caller(app: Litestar, registered: RegisteredClient) -> httpx.AsyncClient:
    key = EcKey()
    http = http_client(app)
    response = await token_with_dpop(http, registered, key)
    assert response.status_code == 200, response.text
    http.auth = DPoPAuth(response.json()["access_token"], key, signing_key=registered.key)
    return http


async def test_revoking_a_client_stops_its_live_tokens_at_once_in_every_worker(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    # Two workers of one deployment: Redis when configured, else the database shares the state.
    first, second = create_app(_several_workers(app)), create_app(_several_workers(app))
    tenant = await create_tenant(app)
    registered = await create_client(app, tenant)
    member = await create_member(app, tenant, ("owner",))
    async with first.lifespan(), second.lifespan():
        portal = http_client(first)
        await login(portal, member)
        caller = await _caller(first, registered)
        assert (await caller.get(CALLER)).status_code == 200  # client standing now cached
        other = http_client(second)
        other.auth = caller.auth
        assert (await other.get(CALLER)).status_code == 200  # cached there too
        token = caller.auth.access_token  # type: ignore[union-attr]

        revoked = await portal.post(f"/api/v1/oauth/clients/{registered.row.id}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"

        for worker in (caller, other):  # the very next call, in either worker
            refused = await worker.get(CALLER)
            assert refused.status_code == 401, refused.text
            assert "revoked" in refused.json()["detail"]
        introspected = await http_client(second).post(
            f"{ISSUER}/oauth/introspect", data={"token": token, **assertion_form(registered)}
        )
        assert introspected.json().get("active") is not True


async def test_revoking_a_client_stops_its_tokens_at_once_in_a_single_worker(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    registered = await create_client(app, tenant)
    member = await create_member(app, tenant, ("owner",))
    portal = http_client(app)
    await login(portal, member)
    caller = await _caller(app, registered)
    assert (await caller.get(CALLER)).status_code == 200
    revoked = await portal.post(f"/api/v1/oauth/clients/{registered.row.id}/revoke")
    assert revoked.status_code == 200, revoked.text
    refused = await caller.get(CALLER)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
