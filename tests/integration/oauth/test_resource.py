"""The resource side: forged tokens, DPoP proofs on calls, revocation taking effect at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from tests.builders import create_tenant
from tests.oauth_builders import (
    ISSUER,
    DPoPAuth,
    EcKey,
    RegisteredClient,
    assertion_form,
    create_client,
    dpop_proof,
    token_with_dpop,
)

from puhui.oauth.runtime import oauth_runtime

pytestmark = pytest.mark.anyio
CALLER = "/api/v1/oauth/caller"
CALLER_URL = ISSUER + CALLER


class Holder:
    def __init__(self, http: httpx.AsyncClient, client: RegisteredClient, key: EcKey, token: str):
        self.http, self.client, self.key, self.token = http, client, key, token

    async def call(self, token: str | None = None, **auth: Any) -> httpx.Response:
        bearer = token or self.token
        return await self.http.get(
            CALLER, auth=DPoPAuth(bearer, self.key, signing_key=self.client.key, **auth)
        )


@pytest.fixture
async def holder(app: Litestar, client: httpx.AsyncClient) -> Holder:
    registered = await create_client(app, await create_tenant(app))
    key = EcKey()
    response = await token_with_dpop(client, registered, key)
    assert response.status_code == 200, response.text
    return Holder(client, registered, key, response.json()["access_token"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _alg_none(app: Litestar, token: str) -> str:
    kid = jwt.get_unverified_header(token)["kid"]
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(_claims(token)).encode())}."


def _hs256_with_public_key(app: Litestar, token: str) -> str:
    active = oauth_runtime(app.state).keys.current().active
    secret = json.dumps(active.public_jwk(), sort_keys=True).encode()
    header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": active.kid}).encode())
    payload = _b64(json.dumps(_claims(token)).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _unknown_kid(app: Litestar, token: str) -> str:
    stranger = EcKey()
    return jwt.encode(
        _claims(token),
        stranger.private,
        algorithm="ES256",
        headers={"kid": stranger.kid, "typ": "at+jwt"},
    )


def _resigned(**changes: Any) -> Callable[[Litestar, str], str]:
    def forge(app: Litestar, token: str) -> str:
        active = oauth_runtime(app.state).keys.current().active
        claims = {**_claims(token), **changes}
        return jwt.encode(
            claims,
            active.private_key,
            algorithm=active.alg,
            headers={"kid": active.kid, "typ": "at+jwt"},
        )

    return forge


@pytest.mark.parametrize(
    "forge",
    [
        _alg_none,
        _hs256_with_public_key,
        _unknown_kid,
        _resigned(exp=int(time.time()) - 10, iat=int(time.time()) - 300),
        _resigned(iss="https://evil.example"),
        _resigned(aud=ISSUER),
        _resigned(exp=int(time.time()) + 3600),  # longer than 10 minutes
    ],
    ids=[
        "alg-none",
        "hs256-public-key",
        "unknown-kid",
        "expired",
        "wrong-iss",
        "wrong-aud",
        "too-long",
    ],
)
async def test_forged_tokens_are_refused(
    app: Litestar, holder: Holder, forge: Callable[[Litestar, str], str]
) -> None:
    response = await holder.call(forge(app, holder.token))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/problems/invalid-token")
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


async def test_the_genuine_token_works(holder: Holder) -> None:
    assert (await holder.call()).status_code == 200


async def test_replayed_dpop_proof_is_refused(holder: Holder) -> None:
    proof = dpop_proof(holder.key, "GET", CALLER_URL, access_token=holder.token)
    assert (await holder.call(proof=proof)).status_code == 200
    replay = await holder.call(proof=proof)
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/problems/invalid-dpop-proof")


@pytest.mark.parametrize(
    ("method", "url", "ath_token"),
    [
        ("POST", CALLER_URL, None),
        ("GET", ISSUER + "/api/v1/other", None),
        ("GET", CALLER_URL, "another-token"),
    ],
    ids=["wrong-htm", "wrong-htu", "wrong-ath"],
)
async def test_proof_for_another_request_or_token_is_refused(
    holder: Holder, method: str, url: str, ath_token: str | None
) -> None:
    proof = dpop_proof(holder.key, method, url, access_token=ath_token or holder.token)
    response = await holder.call(proof=proof)
    assert response.status_code == 401
    assert 'DPoP error="invalid_dpop_proof"' in response.headers["www-authenticate"]


async def test_proof_signed_by_another_key_is_refused(holder: Holder) -> None:
    proof = dpop_proof(EcKey(), "GET", CALLER_URL, access_token=holder.token)
    assert (await holder.call(proof=proof)).status_code == 401


async def test_stale_proof_is_refused(holder: Holder) -> None:
    proof = dpop_proof(
        holder.key, "GET", CALLER_URL, access_token=holder.token, iat=int(time.time()) - 600
    )
    assert (await holder.call(proof=proof)).status_code == 401


async def test_bound_token_without_proof_or_as_bearer_is_refused(holder: Holder) -> None:
    assert (await holder.call(proof="")).status_code == 401
    as_bearer = await holder.call(scheme="Bearer")
    assert as_bearer.status_code == 401
    assert as_bearer.json()["type"].endswith("/problems/invalid-token")


async def test_revoked_access_token_stops_at_once(holder: Holder) -> None:
    assert (await holder.call()).status_code == 200  # now in the verified-token cache
    revoked = await holder.http.post(
        f"{ISSUER}/oauth/revoke", data={"token": holder.token, **assertion_form(holder.client)}
    )
    assert revoked.status_code == 200
    after = await holder.call()
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]
    introspection = await holder.http.post(
        f"{ISSUER}/oauth/introspect", data={"token": holder.token, **assertion_form(holder.client)}
    )
    assert introspection.json() == {"active": False}


async def test_a_client_cannot_introspect_or_revoke_another_clients_token(
    app: Litestar, holder: Holder
) -> None:
    other = await create_client(app, await create_tenant(app))
    introspection = await holder.http.post(
        f"{ISSUER}/oauth/introspect", data={"token": holder.token, **assertion_form(other)}
    )
    assert introspection.json() == {"active": False}
    revoked = await holder.http.post(
        f"{ISSUER}/oauth/revoke", data={"token": holder.token, **assertion_form(other)}
    )
    assert revoked.status_code == 400
    assert (await holder.call()).status_code == 200
