"""The complete FAPI 2.0 flow driven by authlib's own OAuth client, against any running server.

Used in-process (ASGI transport) and against `uvicorn --workers 2` over real HTTP. authlib does
PKCE S256, private_key_jwt, the code exchange and refresh; `tests.oauth_builders.FapiClient` adds
PAR through the same client and the DPoP proofs (authlib has none).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from litestar import Litestar
from tests.consent_builders import Customer, customer_signs_in, form_token
from tests.oauth_builders import REDIRECT_URI, FapiClient

CALLER = "/api/v1/oauth/caller"
CONSENT = {
    "purposes": ["credit_assessment"],
    "data_items": [
        {"source": "tax", "items": ["vat_returns"], "lookback_months": 24},
        {"source": "payroll", "items": ["payroll_summary"]},
    ],
}


@dataclass
class Granted:
    consent_id: str
    token: dict[str, Any]
    redirect_query: dict[str, list[str]]


async def partner_requests_consent(oauth: FapiClient, customer: Customer, **fields: Any) -> str:
    """client_credentials (private_key_jwt + DPoP) for scope `consents`, then the partner API."""
    await oauth.fetch_token(grant_type="client_credentials", scope="consents")
    assert oauth.token["token_type"] == "DPoP"
    created = await oauth.post(
        "/api/v1/consents",
        json={"enterprise_uscc": customer.enterprise.uscc, **CONSENT, **fields},
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "awaiting_authorisation"
    return str(created.json()["id"])


async def grant_through_the_browser(
    app: Litestar,
    oauth: FapiClient,
    browser: httpx.AsyncClient,
    customer: Customer,
    consent_id: str,
    scope: str = "accounts.read",
) -> Granted:
    """PAR -> authorize -> customer login + OTP -> consent -> code -> DPoP-bound tokens."""
    verifier = secrets.token_urlsafe(48)
    # authlib builds the authorization request (S256 challenge from the verifier) ...
    url, state = oauth.create_authorization_url(
        f"{oauth.issuer}/oauth/authorize",
        code_verifier=verifier,
        scope=scope,
        consent_id=consent_id,
    )
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["code_challenge_method"] == "S256"
    # ... which is pushed (RFC 9126), client-authenticated, through the same client.
    pushed = await oauth.push(params)
    assert pushed.status_code == 201, pushed.text
    assert 0 < pushed.json()["expires_in"] <= 600
    start = await browser.get(
        "/oauth/authorize",
        params={"client_id": oauth.client_id, "request_uri": pushed.json()["request_uri"]},
    )
    assert start.status_code == 200, start.text
    review = await customer_signs_in(app, browser, customer, start=start.text)
    assert review.status_code == 200, review.text
    decision = await browser.post(
        "/oauth/authorize/decision", data={"decision": "grant", "_csrf": form_token(review.text)}
    )
    assert decision.status_code == 303, decision.text
    location = decision.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["iss"] == [oauth.issuer]  # RFC 9207, checked before the code is used
    token = await oauth.fetch_token(
        authorization_response=location, state=state, code_verifier=verifier
    )
    assert token["token_type"] == "DPoP"
    assert str(token["refresh_token"]).startswith("phr_")
    assert 0 < int(token["expires_in"]) <= 600
    return Granted(consent_id, dict(token), query)


async def refresh_rotates(oauth: FapiClient) -> dict[str, Any]:
    before = dict(oauth.token)
    rotated = await oauth.refresh_token()
    assert rotated["refresh_token"] != before["refresh_token"]
    assert rotated["access_token"] != before["access_token"]
    assert oauth.token["access_token"] == rotated["access_token"]
    return dict(rotated)


async def call_succeeds(oauth: FapiClient, consent_id: str, customer: Customer) -> None:
    called = await oauth.get(CALLER)
    assert called.status_code == 200, called.text
    assert called.json()["consent_id"] == consent_id
    assert called.json()["customer_id"] == str(customer.user.id)


async def call_is_refused_for_revocation(oauth: FapiClient) -> None:
    refused = await oauth.get(CALLER)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/problems/consent-revoked")
