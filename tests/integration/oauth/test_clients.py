"""The client admin API, secrets for sandbox clients, production approval, DCR, discovery."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_tenant, member_client
from tests.oauth_builders import ISSUER, TOKEN_URL, EcKey, RegisteredClient, assertion_form

from puhui.clock import FrozenClock, set_clock, utcnow
from puhui.oauth.clients import SECRET_OVERLAP
from puhui.oauth.models import OAuthClient
from puhui.oauth.repository import ClientRepository
from puhui.oauth.runtime import oauth_runtime
from puhui.oauth.software_statement import SoftwareStatement, issue_software_statement
from puhui.tenancy.models import TenantKind

pytestmark = pytest.mark.anyio
CLIENTS = "/api/v1/oauth/clients"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def stored_client(app: Litestar, client_id: str) -> OAuthClient:
    async with app.state.db.unit_of_work() as session:
        row = await ClientRepository(session).by_client_id(client_id)
    assert row is not None
    return row


async def secret_token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )


async def test_member_registers_a_private_key_jwt_client_that_then_gets_tokens(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    member, _, _ = await member_client(app, ("developer",))
    key = EcKey()
    created = await member.post(
        CLIENTS,
        json={
            "name": "Payroll sync",
            "scopes": ["payroll.read"],
            "jwks": {"keys": [key.public_jwk]},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_secret"] is None
    assert body["client"]["environment"] == "sandbox"
    listed = await member.get(CLIENTS)
    assert [c["client_id"] for c in listed.json()] == [body["client"]["client_id"]]
    row = await stored_client(app, body["client"]["client_id"])
    token = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", **assertion_form(RegisteredClient(row, key))},
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "payroll.read"


async def test_private_keys_in_a_jwks_are_refused(app: Litestar, client: httpx.AsyncClient) -> None:
    member, _, _ = await member_client(app, ("owner",))
    key = EcKey()
    from jwt.algorithms import ECAlgorithm

    private = ECAlgorithm.to_jwk(key.private, as_dict=True)
    response = await member.post(CLIENTS, json={"name": "Leaky", "jwks": {"keys": [private]}})
    assert response.status_code == 422


async def test_viewer_cannot_manage_clients(app: Litestar, client: httpx.AsyncClient) -> None:
    viewer, _, _ = await member_client(app, ("viewer",))
    response = await viewer.post(CLIENTS, json={"name": "x", "auth_method": "client_secret_basic"})
    assert response.status_code == 403


async def test_sandbox_secret_is_shown_once_and_rotation_overlaps(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    member, _, _ = await member_client(app, ("admin",))
    created = await member.post(
        CLIENTS, json={"name": "Quick start", "auth_method": "client_secret_basic"}
    )
    assert created.status_code == 201, created.text
    old_secret = created.json()["client_secret"]
    client_id = created.json()["client"]["client_id"]
    row_id = created.json()["client"]["id"]
    got = await member.get(f"{CLIENTS}/{row_id}")
    assert old_secret not in got.text
    assert (await secret_token(client, client_id, old_secret)).status_code == 200
    assert (await secret_token(client, client_id, "phs_wrong")).status_code == 401

    rotated = await member.post(f"{CLIENTS}/{row_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert (await secret_token(client, client_id, new_secret)).status_code == 200
    assert (await secret_token(client, client_id, old_secret)).status_code == 200  # overlap
    frozen = FrozenClock(utcnow() + SECRET_OVERLAP)
    previous = set_clock(frozen)
    try:
        assert (await secret_token(client, client_id, old_secret)).status_code == 401
        assert (await secret_token(client, client_id, new_secret)).status_code == 200
    finally:
        set_clock(previous)


async def test_client_secret_basic_is_for_sandbox_organisations_only(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    member, tenant, _ = await member_client(app, ("owner",))
    async with app.state.db.unit_of_work() as session:
        from puhui.tenancy.models import Tenant

        row = await session.get(Tenant, tenant.id)
        assert row is not None
        row.is_sandbox = False
    response = await member.post(
        CLIENTS, json={"name": "Live secret", "auth_method": "client_secret_basic"}
    )
    assert response.status_code == 403


async def test_production_needs_the_banks_approval_and_then_dpop(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    member, _, _ = await member_client(app, ("owner",))
    key = EcKey()
    created = await member.post(
        CLIENTS, json={"name": "Live app", "jwks": {"keys": [key.public_jwk]}}
    )
    row_id = created.json()["client"]["id"]
    requested = await member.post(f"{CLIENTS}/{row_id}/production-request")
    assert requested.json()["status"] == "production_requested"
    operator, _, _ = await member_client(app, ("operator",), kind=TenantKind.BANK)
    approve = f"/api/v1/operator/oauth/clients/{row_id}/approve-production"
    assert (await member.post(approve, json={"reason": "KYB done"})).status_code == 403
    approved = await operator.post(approve, json={"reason": "KYB and pen test passed"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["environment"] == "production"
    assert approved.json()["require_dpop"] is True
    row = await stored_client(app, approved.json()["client_id"])
    no_dpop = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", **assertion_form(RegisteredClient(row, key))},
    )
    assert no_dpop.json()["error"] == "invalid_dpop_proof"


async def test_another_tenants_member_cannot_see_the_client(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    owner, _, _ = await member_client(app, ("owner",))
    created = await owner.post(
        CLIENTS, json={"name": "Mine", "jwks": {"keys": [EcKey().public_jwk]}}
    )
    intruder, _, _ = await member_client(app, ("owner",))
    row_id = created.json()["client"]["id"]
    assert (await intruder.get(f"{CLIENTS}/{row_id}")).status_code == 404
    assert (await intruder.post(f"{CLIENTS}/{row_id}/revoke")).status_code == 404


async def test_dynamic_registration_needs_a_statement_signed_by_the_bank(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    runtime = oauth_runtime(app.state)
    statement = SoftwareStatement(
        software_id="tax-helper",
        tenant_id=str(tenant.id),
        client_name="Tax helper",
        redirect_uris=("https://tax.example/cb",),
        scope=frozenset({"tax.read"}),
    )
    signed = issue_software_statement(runtime.statement_keys, statement, issuer=ISSUER)
    key = EcKey()
    registered = await client.post(
        "/oauth/register", json={"software_statement": signed, "jwks": {"keys": [key.public_jwk]}}
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["token_endpoint_auth_method"] == "private_key_jwt"
    assert registered.json()["scope"] == "tax.read"
    forged_keys = EcKey()
    forged = jwt_statement(forged_keys, tenant.id)
    refused = await client.post(
        "/oauth/register", json={"software_statement": forged, "jwks": {"keys": [key.public_jwk]}}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_software_statement"


def jwt_statement(key: EcKey, tenant_id: object) -> str:
    import time

    import jwt

    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "software_id": "forged",
        "tenant_id": str(tenant_id),
        "client_name": "Forged",
        "redirect_uris": ["https://evil.example/cb"],
        "scope": "loans.write",
        "token_endpoint_auth_method": "private_key_jwt",
        "grant_types": ["client_credentials"],
        "jti": secrets.token_hex(8),
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode(claims, key.private, algorithm="ES256", headers={"kid": key.kid})


async def test_discovery_is_truthful(client: httpx.AsyncClient) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        meta = (await client.get(path)).json()
        assert meta["issuer"] == ISSUER
        assert meta["require_pushed_authorization_requests"] is True
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert "ES256" in meta["dpop_signing_alg_values_supported"]
        assert "password" not in meta["grant_types_supported"]
        assert "implicit" not in meta["grant_types_supported"]
        assert meta["token_endpoint_auth_methods_supported"] == [
            "private_key_jwt",
            "client_secret_basic",
        ]
    jwks = (await client.get("/jwks.json")).json()
    kids = [k["kid"] for k in jwks["keys"]]
    assert len(kids) >= 2  # active and next
    assert all("d" not in k for k in jwks["keys"])
