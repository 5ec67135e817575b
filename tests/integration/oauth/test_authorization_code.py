"""PAR -> code -> DPoP-bound tokens -> refresh rotation, and every rule the flow enforces."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_tenant
from tests.integration.oauth.consents import awaiting_consent, set_consent
from tests.oauth_builders import (
    ISSUER,
    PAR_URL,
    REDIRECT_URI,
    TOKEN_URL,
    DPoPAuth,
    EcKey,
    RegisteredClient,
    assertion_form,
    create_client,
    dpop_nonce,
    dpop_proof,
)

from puhui.clock import FrozenClock, set_clock, utcnow
from puhui.consent.models import ConsentStatus
from puhui.oauth.par import AuthorizationRequestError
from puhui.oauth.service import issue_authorization_code, redeem_request_uri

pytestmark = pytest.mark.anyio
CALLER = "/api/v1/oauth/caller"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Flow:
    app: Litestar
    http: httpx.AsyncClient
    client: RegisteredClient
    consent_id: uuid.UUID
    customer_id: uuid.UUID
    dpop_key: EcKey
    verifier: str
    challenge: str

    def par_form(self, **overrides: str) -> dict[str, str]:
        form = {
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "accounts.read",
            "state": "st-" + secrets.token_hex(4),
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "consent_id": str(self.consent_id),
            **assertion_form(self.client),
        }
        form.update(overrides)
        return {k: v for k, v in form.items() if v != ""}

    async def push(self, **overrides: str) -> httpx.Response:
        return await self.http.post(PAR_URL, data=self.par_form(**overrides))

    async def code(self) -> tuple[str, dict[str, list[str]]]:
        """PAR, then the customer grants (consent authorised), then the redirect with the code."""
        pushed = await self.push()
        assert pushed.status_code == 201, pushed.text
        assert 0 < pushed.json()["expires_in"] <= 600
        request = await redeem_request_uri(
            self.app.state, pushed.json()["request_uri"], self.client.client_id
        )
        await set_consent(self.app, self.consent_id, ConsentStatus.AUTHORISED, self.customer_id)
        async with self.app.state.db.unit_of_work() as session:
            redirect = await issue_authorization_code(
                session, self.app.state, request, self.customer_id, self.consent_id
            )
        query = parse_qs(urlsplit(redirect).query)
        assert redirect.startswith(REDIRECT_URI + "?")
        return query["code"][0], query

    async def token(self, form: dict[str, str], key: EcKey | None = None) -> httpx.Response:
        nonce = await dpop_nonce(self.http)
        return await self.http.post(
            TOKEN_URL,
            data={**form, **assertion_form(self.client)},
            headers={"DPoP": dpop_proof(key or self.dpop_key, "POST", TOKEN_URL, nonce=nonce)},
        )

    async def exchange(self, code: str, verifier: str | None = None) -> httpx.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        form["code_verifier"] = verifier or self.verifier
        return await self.token(form)

    async def call(self, access_token: str) -> httpx.Response:
        auth = DPoPAuth(access_token, self.dpop_key, signing_key=self.client.key)
        return await self.http.get(CALLER, auth=auth)


@pytest.fixture
async def flow(app: Litestar, client: httpx.AsyncClient) -> Flow:
    tenant = await create_tenant(app)
    registered = await create_client(
        app,
        tenant,
        grant_types=("authorization_code", "refresh_token"),
        scopes=("accounts.read", "tax.read"),
    )
    consent_id, customer_id = await awaiting_consent(app, tenant, registered.client_id)
    verifier, challenge = pkce_pair()
    return Flow(app, client, registered, consent_id, customer_id, EcKey(), verifier, challenge)


async def test_code_flow_issues_bound_tokens_for_the_customer(flow: Flow) -> None:
    code, query = await flow.code()
    assert query["iss"] == [ISSUER]  # RFC 9207
    assert query["state"][0].startswith("st-")
    response = await flow.exchange(code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert body["refresh_token"].startswith("phr_")
    caller = await flow.call(body["access_token"])
    assert caller.status_code == 200, caller.text
    assert caller.json()["consent_id"] == str(flow.consent_id)
    assert caller.json()["customer_id"] == str(flow.customer_id)


async def test_code_reuse_is_refused_and_revokes_the_tokens_issued_from_it(flow: Flow) -> None:
    code, _ = await flow.code()
    first = await flow.exchange(code)
    assert first.status_code == 200, first.text
    assert (await flow.call(first.json()["access_token"])).status_code == 200
    again = await flow.exchange(code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    revoked = await flow.call(first.json()["access_token"])
    assert revoked.status_code == 401
    assert revoked.headers["content-type"].startswith("application/problem+json")
    refresh = await flow.token(
        {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    )
    assert refresh.json()["error"] == "invalid_grant"


async def test_wrong_code_verifier_is_refused(flow: Flow) -> None:
    code, _ = await flow.code()
    response = await flow.exchange(code, verifier=pkce_pair()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_exchange_needs_an_authorised_consent(flow: Flow) -> None:
    code, _ = await flow.code()
    await set_consent(flow.app, flow.consent_id, ConsentStatus.REVOKED, flow.customer_id)
    response = await flow.exchange(code)
    assert response.json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_a_replayed_refresh_token_revokes_the_family(
    flow: Flow,
) -> None:
    code, _ = await flow.code()
    tokens = (await flow.exchange(code)).json()
    rotated = await flow.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await flow.call(new["access_token"])).status_code == 200
    replay = await flow.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert replay.json()["error"] == "invalid_grant"
    # the whole family is gone: the rotated refresh token and the access tokens
    after = await flow.token({"grant_type": "refresh_token", "refresh_token": new["refresh_token"]})
    assert after.json()["error"] == "invalid_grant"
    assert (await flow.call(new["access_token"])).status_code == 401


async def test_refresh_stops_when_the_consent_is_revoked(flow: Flow) -> None:
    code, _ = await flow.code()
    tokens = (await flow.exchange(code)).json()
    await set_consent(flow.app, flow.consent_id, ConsentStatus.REVOKED, flow.customer_id)
    refresh = await flow.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refresh.json()["error"] == "invalid_grant"


async def test_tokens_are_bound_to_the_dpop_key_that_redeemed_the_code(flow: Flow) -> None:
    code, _ = await flow.code()
    tokens = (await flow.exchange(code)).json()
    thief = EcKey()
    auth = DPoPAuth(tokens["access_token"], thief, signing_key=flow.client.key)
    response = await flow.http.get(CALLER, auth=auth)
    assert response.status_code == 401
    assert 'DPoP error="invalid_dpop_proof"' in response.headers["www-authenticate"]
    refresh = await flow.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, key=thief
    )
    assert refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"redirect_uri": "https://partner.example/other"}, "invalid_request"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "loans.write"}, "invalid_scope"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request"),
    ],
)
async def test_pushed_request_refusals(flow: Flow, overrides: dict[str, str], error: str) -> None:
    response = await flow.push(**overrides)
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_pushed_request_for_another_clients_consent_is_refused(
    flow: Flow, app: Litestar
) -> None:
    other_tenant = await create_tenant(app)
    other = await create_client(app, other_tenant, grant_types=("authorization_code",))
    foreign_consent, _ = await awaiting_consent(app, other_tenant, other.client_id)
    response = await flow.push(consent_id=str(foreign_consent))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_request_uri_is_single_use(flow: Flow) -> None:
    pushed = (await flow.push()).json()
    await redeem_request_uri(flow.app.state, pushed["request_uri"], flow.client.client_id)
    with pytest.raises(AuthorizationRequestError) as refused:
        await redeem_request_uri(flow.app.state, pushed["request_uri"], flow.client.client_id)
    assert refused.value.error == "invalid_request_uri"


async def test_request_uri_expires(flow: Flow) -> None:
    pushed = (await flow.push()).json()
    frozen = FrozenClock(utcnow())
    previous = set_clock(frozen)
    try:
        frozen.advance(timedelta(seconds=pushed["expires_in"] + 1))
        with pytest.raises(AuthorizationRequestError) as refused:
            await redeem_request_uri(flow.app.state, pushed["request_uri"], flow.client.client_id)
    finally:
        set_clock(previous)
    assert refused.value.error == "invalid_request_uri"


async def test_request_uri_of_another_client_is_refused(flow: Flow, app: Litestar) -> None:
    pushed = (await flow.push()).json()
    with pytest.raises(AuthorizationRequestError):
        await redeem_request_uri(app.state, pushed["request_uri"], "ph_someone_else")


async def test_dpop_proof_at_par_binds_the_code_to_that_key(flow: Flow) -> None:
    nonce = await dpop_nonce(flow.http)
    pushed = await flow.http.post(
        PAR_URL,
        data=flow.par_form(),
        headers={"DPoP": dpop_proof(flow.dpop_key, "POST", PAR_URL, nonce=nonce)},
    )
    assert pushed.status_code == 201, pushed.text
    request = await redeem_request_uri(
        flow.app.state, pushed.json()["request_uri"], flow.client.client_id
    )
    assert request.request.dpop_jkt == flow.dpop_key.jkt
    await set_consent(flow.app, flow.consent_id, ConsentStatus.AUTHORISED, flow.customer_id)
    async with flow.app.state.db.unit_of_work() as session:
        redirect = await issue_authorization_code(
            session, flow.app.state, request, flow.customer_id, flow.consent_id
        )
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow.verifier,
    }
    stolen = await flow.token(form, key=EcKey())
    assert stolen.json()["error"] == "invalid_grant"


async def test_authorize_endpoint_refuses_a_request_that_was_not_pushed(
    flow: Flow,
) -> None:
    response = await flow.http.get(
        "/oauth/authorize",
        params={
            "client_id": flow.client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 400
    assert "code=" not in response.headers.get("location", "")
