"""In a real browser: a seeded sandbox customer grants a partner's consent at the bank, signs in
to the consent centre, sees the consent and revokes it in one step, and the partner's next API
call with that consent fails; bank staff work the manual credit review queue (assign, approve,
decline, return), acknowledge an anomaly alert, search the audit log with its chain verdict and
look at connector health. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Generator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from playwright.sync_api import Browser, Page, Route, expect
from tests.e2e.conftest import WAIT_MS, LiveServer, new_page, shot, sign_in
from tests.oauth_builders import REDIRECT_URI, EcKey, dpop_proof

from puhui.customers.seed import sandbox_customers
from puhui.oauth.client_assertion import CLIENT_ASSERTION_TYPE
from puhui.security.digest import content_digest
from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request
from puhui.security.masking import mask_phone
from puhui.seed import SANDBOX_PASSWORD

PARTNER_OWNER = "owner@gov-procure.example"  # a seeded, active sandbox partner
PARTNER_NAME = "阳光政采平台 Sunshine e-Procurement"
CALLER = "/api/v1/oauth/caller"


class PartnerServer:
    """The partner's back end: private_key_jwt client assertions, DPoP-bound tokens and RFC 9421
    signatures over plain HTTP to the live server (its keys never go near the browser)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.key = EcKey()  # the app's key, uploaded as a JWK in the portal
        self.dpop_key = EcKey()
        self.client_id = ""
        self.http = httpx.Client(base_url=base, timeout=WAIT_MS / 1000)
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        self.challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def assertion(self) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.base,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 50,
        }
        token = jwt.encode(
            claims, self.key.private, algorithm="ES256", headers={"kid": self.key.kid}
        )
        return {
            "client_id": self.client_id,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": token,
        }

    def token(self, form: dict[str, str]) -> str:
        response = self.token_response(form)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def token_response(self, form: dict[str, str]) -> httpx.Response:
        url = f"{self.base}/oauth/token"
        nonce = self.http.post(url, data={"grant_type": "client_credentials"}).headers.get(
            "dpop-nonce"
        )
        assert nonce, "the token endpoint gave no DPoP nonce"
        return self.http.post(
            url,
            data={"grant_type": "client_credentials", **form, **self.assertion()},
            headers={"DPoP": dpop_proof(self.dpop_key, "POST", url, nonce=nonce)},
        )

    def api(self, access_token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            timeout=WAIT_MS / 1000,
            auth=_SignedDPoP(access_token, self.dpop_key, self.key),
        )

    def push(self, consent_id: str) -> str:
        response = self.http.post(
            "/oauth/par",
            data={
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": "offers",
                "state": "e2e-state",
                "code_challenge": self.challenge,
                "code_challenge_method": "S256",
                "consent_id": consent_id,
                **self.assertion(),
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["request_uri"])


class _SignedDPoP(httpx.Auth):
    """Per request: a fresh DPoP proof for the bound token and the gateway's RFC 9421 signature."""

    requires_request_body = True

    def __init__(self, access_token: str, dpop_key: EcKey, signing_key: EcKey) -> None:
        self.access_token = access_token
        self.dpop_key = dpop_key
        self.signing_key = signing_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = str(request.url.copy_with(query=None, fragment=None))
        request.headers["Authorization"] = f"DPoP {self.access_token}"
        request.headers["DPoP"] = dpop_proof(
            self.dpop_key, request.method, url, access_token=self.access_token
        )
        components = ["@method", "@target-uri"]
        if request.content:
            request.headers["Content-Digest"] = content_digest(request.content)
            components.append("content-digest")
        signed = sign_request(
            HttpRequest(request.method, str(request.url), dict(request.headers)),
            SignatureKey("ecdsa-p256-sha256", self.signing_key.private, keyid=self.signing_key.kid),
            components=components,
        )
        request.headers["Signature-Input"] = signed.signature_input
        request.headers["Signature"] = signed.signature
        yield request


def latest_code(inbox_page: Page, phone: str) -> str:
    """The newest one-time code the sandbox 'sent' to this phone, read from the sandbox inbox."""
    inbox_page.goto("/sandbox/inbox")
    row = inbox_page.locator("tr", has_text=mask_phone(phone)).first
    expect(row).to_be_visible()
    match = re.search(r"\b(\d{6})\b", row.locator("td").nth(2).inner_text())
    assert match, row.inner_text()
    return match.group(1)


def customer_signs_in(customer: Page, inbox_page: Page, phone: str) -> None:
    customer.get_by_label("Mobile number").fill(phone)
    customer.get_by_label("Password").fill(SANDBOX_PASSWORD)
    customer.get_by_role("button", name="Continue").click()
    expect(customer.get_by_label("One-time code")).to_be_visible()
    customer.get_by_label("One-time code").fill(latest_code(inbox_page, phone))
    customer.get_by_role("button", name="Continue").click()


_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def grant_over_http(
    base: str, client_id: str, request_uri: str, phone: str, inbox_page: Page
) -> dict[str, list[str]]:
    """The customer's user agent through the bank's authorisation pages: sign-in, one-time
    code (read from the sandbox inbox), grant; returns the redirect's query at the partner."""
    with httpx.Client(base_url=base, timeout=WAIT_MS / 1000) as agent:
        start = agent.get(
            "/oauth/authorize", params={"client_id": client_id, "request_uri": request_uri}
        )
        assert start.status_code == 200, start.text[:500]
        form = _CSRF.search(start.text)
        assert form, start.text[:500]
        login = agent.post(
            "/oauth/authorize/login",
            data={"phone": phone, "password": SANDBOX_PASSWORD, "_csrf": form.group(1)},
        )
        assert login.status_code == 200, login.text[:500]
        form = _CSRF.search(login.text)
        assert form, login.text[:500]
        review = agent.post(
            "/oauth/authorize/code",
            data={"code": latest_code(inbox_page, phone), "_csrf": form.group(1)},
        )
        assert review.status_code == 200, review.text[:500]
        assert "Give consent" in review.text or "同意授权" in review.text
        form = _CSRF.search(review.text)
        assert form, review.text[:500]
        decided = agent.post(
            "/oauth/authorize/decision", data={"decision": "grant", "_csrf": form.group(1)}
        )
        assert decided.status_code == 303, decided.text[:500]
        location = decided.headers["location"]
        assert location.startswith(REDIRECT_URI + "?"), location
        return parse_qs(urlsplit(location).query)


def register_consent_app(owner: Page, partner: PartnerServer, shots: Path) -> None:
    """The partner's developer registers the app in the portal with its public JWK."""
    owner.get_by_role("link", name="Apps and keys").first.click()
    owner.get_by_role("link", name="Register an app").click()
    owner.get_by_label("Name").fill("Consent-bound data app")
    owner.locator('input[name="auth_method"][value="private_key_jwt"]').check()
    owner.get_by_label("Upload a public key").fill(json.dumps(partner.key.public_jwk))
    owner.get_by_label("Redirect URIs").fill(REDIRECT_URI)
    owner.locator('input[name="grant_types"][value="authorization_code"]').check()
    for scope in ("consents", "offers"):
        owner.locator(f'input[name="scopes"][value="{scope}"]').check()
    owner.get_by_role("button", name="Register an app").click()
    expect(owner.get_by_role("heading", name="Consent-bound data app")).to_be_visible()
    partner.client_id = owner.locator("#app-client-id").inner_text().strip()
    assert partner.client_id.startswith("ph_")
    shot(owner, shots, "consent-app")


class ConsentRequest(NamedTuple):
    partner: PartnerServer
    owner: Page  # the partner owner's signed-in page (it also reads the sandbox inbox)
    app_url: str
    consents: httpx.Client  # the partner's consents API client
    consent_id: str
    request_uri: str


def partner_asks_consent(
    browser: Browser, live: LiveServer, uscc: str, shots: Path
) -> ConsentRequest:
    """A seeded partner registers an app in the portal, asks the enterprise's consent through
    the API and pushes the authorisation request (PAR)."""
    partner = PartnerServer(live.url)
    owner = new_page(browser, live.url)
    sign_in(owner, PARTNER_OWNER, SANDBOX_PASSWORD)
    expect(owner).to_have_url(re.compile(r"/portal$"))
    register_consent_app(owner, partner, shots)
    app_url = owner.url
    consents = partner.api(partner.token({"scope": "consents"}))
    created = consents.post(
        "/api/v1/consents",
        json={
            "enterprise_uscc": uscc,
            "purposes": ["credit_assessment"],
            "data_items": [{"source": "tax", "items": ["vat_returns"], "lookback_months": 24}],
        },
    )
    assert created.status_code == 201, created.text
    consent_id = str(created.json()["id"])
    return ConsentRequest(partner, owner, app_url, consents, consent_id, partner.push(consent_id))


def test_a_customer_grants_in_the_browser(
    browser: Browser, live: LiveServer, screenshots: Path
) -> None:
    persona = sandbox_customers()[2]
    asked = partner_asks_consent(browser, live, persona.persona.uscc, screenshots)
    customer = new_page(browser, live.url)

    def partner_callback(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<h1>Partner callback</h1>")

    customer.context.route("https://partner.example/**", partner_callback)
    customer.goto(
        "/oauth/authorize?"
        + urlencode({"client_id": asked.partner.client_id, "request_uri": asked.request_uri})
    )
    customer_signs_in(customer, asked.owner, persona.phone)
    expect(customer.get_by_role("button", name="Give consent")).to_be_visible()
    shot(customer, screenshots, "consent-authorise")
    try:
        customer.get_by_role("button", name="Give consent").click()
        customer.wait_for_url(re.compile(r"^https://partner\.example/callback"), timeout=15_000)
    finally:
        customer.context.close()
        asked.owner.context.close()


def test_a_customer_revokes_in_the_consent_centre_and_the_next_call_fails(
    browser: Browser, live: LiveServer, screenshots: Path
) -> None:
    persona = sandbox_customers()[1]
    asked = partner_asks_consent(browser, live, persona.persona.uscc, screenshots)
    partner, owner, app_url, consents = asked.partner, asked.owner, asked.app_url, asked.consents
    consent_id, request_uri = asked.consent_id, asked.request_uri

    # the customer grants it at the bank (the bank's own pages, driven over HTTP here: see
    # test_a_customer_grants_in_the_browser for the browser and its CSP finding)
    query = grant_over_http(live.url, partner.client_id, request_uri, persona.phone, owner)
    assert query["state"] == ["e2e-state"]

    access = partner.token(
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": partner.verifier,
        }
    )
    data_api = partner.api(access)
    before = data_api.get(CALLER)
    assert before.status_code == 200, before.text
    assert before.json()["consent_id"] == consent_id

    # the customer signs in to the consent centre, sees the consent and revokes it in one step
    centre = new_page(browser, live.url)
    centre.goto("/")
    centre.get_by_role("link", name="Consent centre").first.click()
    customer_signs_in(centre, owner, persona.phone)
    card = centre.locator("section.card", has_text=PARTNER_NAME).filter(
        has=centre.get_by_role("button", name="Revoke")
    )
    expect(card).to_have_count(1)
    expect(card.get_by_text("Authorised")).to_be_visible()
    shot(centre, screenshots, "consent-centre")
    card.get_by_role("button", name="Revoke").click()
    expect(centre.get_by_role("status")).to_be_visible()
    expect(
        centre.locator("section.card", has_text=PARTNER_NAME).get_by_text("Revoked").first
    ).to_be_visible()
    shot(centre, screenshots, "consent-centre-revoked")
    centre.context.close()

    after = data_api.get(CALLER)
    assert after.status_code == 403, after.text
    assert after.json()["type"].endswith("/problems/consent-revoked")
    read = consents.get(f"/api/v1/consents/{consent_id}")
    assert read.json()["status"] == "revoked"

    # the partner sees the refused call in its own request logs, found by its request id
    owner.get_by_role("link", name="Request logs").first.click()
    owner.get_by_label("Request id").fill(after.headers["x-request-id"])
    owner.get_by_role("button", name="Filter").click()
    expect(owner.locator("tbody tr")).to_have_count(1)
    expect(owner.locator("tbody tr").first).to_contain_text("403")
    shot(owner, screenshots, "request-logs-search")

    # the partner revokes the app in the portal: its credentials stop working at once
    owner.goto(app_url)
    owner.get_by_role("button", name="Revoke the app").click()
    expect(owner.locator("#app-status")).to_have_text("Revoked")
    shot(owner, screenshots, "app-revoked")
    assert partner.token_response({"scope": "consents"}).status_code in {400, 401}
    owner.context.close()


def test_bank_staff_work_the_console(browser: Browser, live: LiveServer, screenshots: Path) -> None:
    # a spike of failed authentications from one address raises an anomaly alert
    with httpx.Client(base_url=live.url, timeout=WAIT_MS / 1000) as http:
        for _ in range(20):
            refused = http.get(CALLER, headers={"Authorization": "Bearer not-a-token"})
            assert refused.status_code == 401

    risk = new_page(browser, live.url)
    sign_in(risk, "risk@puhui.bank", SANDBOX_PASSWORD)
    expect(risk).to_have_url(re.compile(r"/console$"))
    risk.get_by_role("link", name="Manual credit review").first.click()
    approve, decline, give_back = live.credit_applications
    for application in live.credit_applications:
        case = risk.locator("article", has_text=application)
        expect(case.locator("[data-status]")).to_have_attribute("data-status", "open")
    shot(risk, screenshots, "console-credit-reviews")
    for application, action, button in (
        (approve, "approved", "Approve"),
        (decline, "declined", "Refuse"),
        (give_back, "returned", "Return for information"),
    ):
        case = risk.locator("article", has_text=application)
        case.get_by_label("Reason").fill("Taking this case from the browser")
        case.get_by_role("button", name="Assign to me").click()
        case = risk.locator("article", has_text=application)
        expect(case.locator("[data-status]")).to_have_attribute("data-status", "assigned")
        case.get_by_label("Reason").fill(f"{action} after checking the evidence")
        case.get_by_role("button", name=button, exact=True).click()
        case = risk.locator("article", has_text=application)
        expect(case.locator("[data-status]")).to_have_attribute("data-status", action)
        expect(case).to_contain_text(f"{action} after checking the evidence")
    shot(risk, screenshots, "console-credit-reviews-decided")
    risk.context.close()

    operator = new_page(browser, live.url)
    sign_in(operator, "operator@puhui.bank", SANDBOX_PASSWORD)
    operator.get_by_role("link", name="Anomaly alerts").first.click()
    alert = operator.locator("tbody tr", has_text="Authentication failures").first
    expect(alert).to_be_visible()
    shot(operator, screenshots, "console-alerts")
    alert.get_by_label("Note").fill("Probe from a load test; address blocked.")
    alert.get_by_role("button", name="Acknowledge").click()
    acknowledged = operator.locator("tbody tr", has_text="Probe from a load test").first
    expect(acknowledged.locator("[data-status]")).to_have_attribute("data-status", "acknowledged")

    operator.get_by_role("link", name="Audit log").first.click()
    operator.get_by_label("Action").fill("review.approved")
    operator.get_by_role("button", name="Filter").click()
    expect(operator.locator("#chain-verdict")).to_have_attribute("data-intact", "true")
    rows = operator.locator("tbody tr", has_text="review.approved")
    expect(rows).to_have_count(1)
    shot(operator, screenshots, "console-audit-search")

    operator.get_by_role("link", name="Connector health").first.click()
    expect(operator.get_by_role("table")).to_be_visible()
    shot(operator, screenshots, "console-connectors")
    operator.context.close()
