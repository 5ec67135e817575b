"""The whole customer journey through HTTP: partner asks, customer grants at the bank, the partner
calls with a DPoP-bound token, the customer revokes in the consent centre, the next call fails."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from tests.builders import create_tenant
from tests.conftest import http_client
from tests.consent_builders import Customer, create_customer, customer_signs_in, form_token
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
    token_with_dpop,
)

from puhui.app import create_app
from puhui.consent.models import ConsentReceipt, ConsentStatus
from puhui.db.session import tenant_bypass
from puhui.webhooks.models import PartnerEvent

pytestmark = pytest.mark.anyio
CALLER = "/api/v1/oauth/caller"


class Partner:
    """A partner's server: one registered client, its DPoP key, its HTTP client."""

    def __init__(self, app: Litestar, http: httpx.AsyncClient, client: RegisteredClient) -> None:
        self.app = app
        self.http = http
        self.client = client
        self.dpop_key = EcKey()
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        self.challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    async def consents_api(self) -> httpx.AsyncClient:
        response = await token_with_dpop(
            self.http, self.client, self.dpop_key, {"scope": "consents"}
        )
        assert response.status_code == 200, response.text
        api = http_client(self.app)
        api.auth = DPoPAuth(response.json()["access_token"], self.dpop_key, self.client.key)
        return api

    async def push(self, consent_id: str) -> str:
        form = {
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "accounts.read",
            "state": "st-flow",
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "consent_id": consent_id,
            **assertion_form(self.client),
        }
        response = await self.http.post(PAR_URL, data=form)
        assert response.status_code == 201, response.text
        return str(response.json()["request_uri"])

    async def token(self, form: dict[str, str]) -> httpx.Response:
        nonce = await dpop_nonce(self.http)
        return await self.http.post(
            TOKEN_URL,
            data={**form, **assertion_form(self.client)},
            headers={"DPoP": dpop_proof(self.dpop_key, "POST", TOKEN_URL, nonce=nonce)},
        )

    async def call(self, app: Litestar, access_token: str) -> httpx.Response:
        auth = DPoPAuth(access_token, self.dpop_key, signing_key=self.client.key)
        async with http_client(app) as http:
            return await http.get(CALLER, auth=auth)


async def _partner(app: Litestar, client: httpx.AsyncClient) -> Partner:
    tenant = await create_tenant(app)
    registered = await create_client(
        app,
        tenant,
        grant_types=("authorization_code", "client_credentials", "refresh_token"),
        scopes=("accounts.read", "consents"),
    )
    return Partner(app, client, registered)


async def _customer_grants(
    app: Litestar, partner: Partner, customer: Customer, request_uri: str
) -> dict[str, list[str]]:
    browser = http_client(app)
    start = await browser.get(
        "/oauth/authorize",
        params={"client_id": partner.client.client_id, "request_uri": request_uri},
    )
    assert start.status_code == 200, start.text
    review = await customer_signs_in(app, browser, customer, start=start.text)
    assert review.status_code == 200, review.text
    assert "增值税申报表" in review.text or "VAT returns" in review.text  # items in plain words
    decision = await browser.post(
        "/oauth/authorize/decision", data={"decision": "grant", "_csrf": form_token(review.text)}
    )
    assert decision.status_code == 303, decision.text
    location = decision.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


async def _customer_revokes_in_the_centre(
    app: Litestar, customer: Customer, consent_id: str
) -> None:
    browser = http_client(app)
    start = await browser.get("/consent-centre/")
    assert start.status_code == 200
    signed_in = await customer_signs_in(app, browser, customer, start=start.text)
    assert signed_in.status_code == 303
    centre = await browser.get("/consent-centre/")
    assert consent_id in centre.text
    revoked = await browser.post(
        f"/consent-centre/consents/{consent_id}/revoke", data={"_csrf": form_token(centre.text)}
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"].endswith("revoked=1")


async def test_grant_call_refresh_revoke_and_the_next_call_fails_at_once(
    app: Litestar, client: httpx.AsyncClient, settings: object
) -> None:
    partner = await _partner(app, client)
    customer = await create_customer(app)
    api = await partner.consents_api()
    created = await api.post(
        "/api/v1/consents",
        json={
            "enterprise_uscc": customer.enterprise.uscc,
            "purposes": ["credit_assessment"],
            "data_items": [
                {"source": "tax", "items": ["vat_returns"], "lookback_months": 24},
                {"source": "payroll", "items": ["payroll_summary"]},
            ],
        },
    )
    assert created.status_code == 201, created.text
    consent_id = created.json()["id"]
    assert created.json()["status"] == "awaiting_authorisation"

    query = await _customer_grants(app, partner, customer, await partner.push(consent_id))
    assert query["iss"] == [ISSUER]
    assert query["state"] == ["st-flow"]
    tokens = await partner.token(
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": partner.verifier,
        }
    )
    assert tokens.status_code == 200, tokens.text
    called = await partner.call(app, tokens.json()["access_token"])
    assert called.status_code == 200, called.text
    assert called.json()["consent_id"] == consent_id
    assert called.json()["customer_id"] == str(customer.user.id)

    rotated = await partner.token(
        {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    access = rotated.json()["access_token"]
    assert (await partner.call(app, access)).status_code == 200

    # A second server worker (own process state; shares the database, and Redis when set).
    other_worker = create_app(app.state.settings)
    async with other_worker.lifespan():
        assert (await partner.call(other_worker, access)).status_code == 200
        await _customer_revokes_in_the_centre(app, customer, consent_id)
        for worker in (app, other_worker):
            refused = await partner.call(worker, access)
            assert refused.status_code == 403, refused.text
            assert refused.json()["type"].endswith("/problems/consent-revoked")

    read = await api.get(f"/api/v1/consents/{consent_id}")
    assert read.json()["status"] == ConsentStatus.REVOKED.value
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.inspect"):
            events = (
                (
                    await session.execute(
                        select(PartnerEvent.event_type).where(
                            PartnerEvent.subject == f"consent:{consent_id}"
                        )
                    )
                )
                .scalars()
                .all()
            )
            receipts = (
                (
                    await session.execute(
                        select(ConsentReceipt.event).where(
                            ConsentReceipt.consent_id == uuid.UUID(consent_id)
                        )
                    )
                )
                .scalars()
                .all()
            )
    assert list(events) == ["consent.revoked"]
    assert sorted(r.value for r in receipts) == ["granted", "revoked"]


async def test_refusing_redirects_with_access_denied_and_iss(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await _partner(app, client)
    customer = await create_customer(app)
    api = await partner.consents_api()
    created = await api.post(
        "/api/v1/consents",
        json={
            "enterprise_uscc": customer.enterprise.uscc,
            "purposes": ["credit_assessment"],
            "data_items": [{"source": "tax", "items": ["tax_credit_grade"]}],
        },
    )
    request_uri = await partner.push(created.json()["id"])
    browser = http_client(app)
    start = await browser.get(
        "/oauth/authorize",
        params={"client_id": partner.client.client_id, "request_uri": request_uri},
    )
    review = await customer_signs_in(app, browser, customer, start=start.text)
    refused = await browser.post(
        "/oauth/authorize/decision", data={"decision": "reject", "_csrf": form_token(review.text)}
    )
    assert refused.status_code == 303
    query = parse_qs(urlsplit(refused.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["iss"] == [ISSUER]
    read = await api.get(f"/api/v1/consents/{created.json()['id']}")
    assert read.json()["status"] == "rejected"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"client_id": "ph_unknown", "request_uri": "urn:ietf:params:oauth:request_uri:x"},
        {"request_uri": "urn:ietf:params:oauth:request_uri:x"},
    ],
)
async def test_bad_authorize_requests_get_an_error_page_never_a_redirect(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(
        "/oauth/authorize", params={**params, "redirect_uri": "https://evil.example/cb"}
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    # Never a link or form to the unverified redirect_uri (the page's own URL, percent-encoded in
    # the language switch's `next` field, is a same-site path, not a way out).
    assert "https://evil.example" not in response.text
