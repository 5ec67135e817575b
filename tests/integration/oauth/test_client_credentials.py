"""client_credentials with private_key_jwt and DPoP, end to end over HTTP, and its refusals."""

from __future__ import annotations

import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from litestar import Litestar
from tests.builders import create_tenant
from tests.oauth_builders import (
    ISSUER,
    TOKEN_URL,
    EcKey,
    assertion_form,
    client_caller,
    create_client,
    dpop_nonce,
    dpop_proof,
    token_with_dpop,
)

from puhui.oauth.client_assertion import CLIENT_ASSERTION_TYPE
from puhui.oauth.models import ClientEnvironment

pytestmark = [
    pytest.mark.anyio,
    # authlib flags its own httpx integration and jose module as deprecated (joserfc, httpx2)
    pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning"),
]


async def test_authlib_client_gets_a_token_with_private_key_jwt(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    registered = await create_client(app, tenant, scopes=["accounts.read", "loans.read"])
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    pem = registered.key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # aud = the issuer (FAPI 2.0), and an assertion that lives under 60 s
    auth_method = PrivateKeyJWT(ISSUER, alg="ES256", claims={"exp": int(time.time()) + 50})
    async with AsyncOAuth2Client(
        client_id=registered.client_id,
        client_secret=ECKey.import_key(pem),
        token_endpoint_auth_method=auth_method,
        transport=httpx.ASGITransport(app=app),
        base_url=ISSUER,
    ) as oauth:
        token = await oauth.fetch_token(TOKEN_URL, grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"accounts.read", "loans.read"}
    assert 0 < token["expires_in"] <= 600
    assert "refresh_token" not in token


async def test_dpop_bound_token_calls_a_protected_route(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    caller = await client_caller(app, tenant, ["accounts.read"])
    response = await caller.get("/api/v1/oauth/caller")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == str(tenant.id)
    assert body["scopes"] == ["accounts.read"]


async def test_token_response_is_dpop_typed_and_bound(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    registered = await create_client(app, tenant)
    key = EcKey()
    response = await token_with_dpop(client, registered, key)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    assert response.headers["cache-control"] == "no-store"
    introspection = await client.post(
        f"{ISSUER}/oauth/introspect",
        data={"token": response.json()["access_token"], **assertion_form(registered)},
    )
    assert introspection.json()["active"] is True
    assert introspection.json()["cnf"] == {"jkt": key.jkt}


async def test_assertion_audience_must_be_the_issuer_not_the_token_url(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    registered = await create_client(app, await create_tenant(app))
    for aud in (TOKEN_URL, [ISSUER]):
        response = await client.post(
            TOKEN_URL,
            data={"grant_type": "client_credentials", **assertion_form(registered, aud=aud)},
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


async def test_replayed_assertion_jti_is_refused(app: Litestar, client: httpx.AsyncClient) -> None:
    registered = await create_client(app, await create_tenant(app))
    form = {"grant_type": "client_credentials", **assertion_form(registered, jti="same-jti")}
    first = await client.post(TOKEN_URL, data=form)
    assert first.status_code == 200, first.text
    second = await client.post(TOKEN_URL, data=form)
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_client"


async def test_assertion_living_longer_than_60_seconds_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    registered = await create_client(app, await create_tenant(app))
    form = {"grant_type": "client_credentials", **assertion_form(registered, lifetime=300)}
    assert (await client.post(TOKEN_URL, data=form)).status_code == 401


async def test_assertion_signed_by_another_key_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    registered = await create_client(app, await create_tenant(app))
    form = {"grant_type": "client_credentials", **assertion_form(registered, key=EcKey())}
    assert (await client.post(TOKEN_URL, data=form)).status_code == 401


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:unknown"])
async def test_password_and_implicit_grants_do_not_exist(
    app: Litestar, client: httpx.AsyncClient, grant_type: str
) -> None:
    registered = await create_client(app, await create_tenant(app))
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": grant_type,
            "username": "u",
            "password": "p",
            **assertion_form(registered),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_scope_beyond_registration_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    registered = await create_client(app, await create_tenant(app), scopes=["accounts.read"])
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "scope": "loans.write",
            **assertion_form(registered),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_production_client_without_dpop_is_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    registered = await create_client(
        app, await create_tenant(app), environment=ClientEnvironment.PRODUCTION, require_dpop=True
    )
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials", **assertion_form(registered)}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    bound = await token_with_dpop(client, registered, EcKey())
    assert bound.status_code == 200, bound.text


async def test_token_endpoint_dpop_needs_a_server_nonce(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    registered = await create_client(app, await create_tenant(app))
    key = EcKey()
    response = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", **assertion_form(registered)},
        headers={"DPoP": dpop_proof(key, "POST", TOKEN_URL)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "use_dpop_nonce"
    assert response.headers["dpop-nonce"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", TOKEN_URL),
        ("POST", f"{ISSUER}/oauth/par"),
        ("POST", "https://evil.example/oauth/token"),
    ],
)
async def test_token_endpoint_proof_for_another_method_or_url_is_refused(
    app: Litestar, client: httpx.AsyncClient, method: str, url: str
) -> None:
    registered = await create_client(app, await create_tenant(app))
    nonce = await dpop_nonce(client)
    response = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", **assertion_form(registered)},
        headers={"DPoP": dpop_proof(EcKey(), method, url, nonce=nonce)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"


async def test_missing_client_authentication_is_invalid_client(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(TOKEN_URL, data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    wrong = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE},
        headers={"content-type": "application/json"},
    )
    assert wrong.status_code == 400
