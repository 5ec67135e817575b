"""A browser signed in to the partner portal AND acting as an SME customer: the customer pages and
the customer API check the customer session's CSRF token, never the portal session's."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from tests.builders import PASSWORD, create_member, create_tenant
from tests.conftest import http_client
from tests.consent_builders import (
    authorised_consent,
    create_customer,
    customer_signs_in,
    form_token,
)
from tests.integration.oauth.fapi_flow import grant_through_the_browser, partner_requests_consent
from tests.oauth_builders import FapiClient, create_client

from puhui.customers.sessions import CENTRE_COOKIE, csrf_for
from puhui.identity.sessions import COOKIE_NAME

pytestmark = pytest.mark.anyio


async def _browser_with_portal_cookie(app: Litestar) -> httpx.AsyncClient:
    """A browser holding a live portal member session (cookie only, as a real browser would)."""
    tenant = await create_tenant(app)
    member = await create_member(app, tenant, ("owner",))
    browser = http_client(app)
    signed_in = await browser.post(
        "/api/v1/session", json={"email": member.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 201, signed_in.text
    assert browser.cookies.get(COOKIE_NAME)
    return browser


async def test_authorize_pages_work_with_a_portal_cookie_present(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    browser = await _browser_with_portal_cookie(app)
    tenant = await create_tenant(app)
    registered = await create_client(
        app,
        tenant,
        grant_types=("authorization_code", "client_credentials", "refresh_token"),
        scopes=("accounts.read", "consents"),
    )
    customer = await create_customer(app)
    transport = httpx.ASGITransport(app=app)
    async with FapiClient(registered, transport=transport) as oauth:
        consent_id = await partner_requests_consent(oauth, customer)
        # login, code and decision are form POSTs: all 2xx/303 despite the portal cookie
        granted = await grant_through_the_browser(app, oauth, browser, customer, consent_id)
    assert granted.redirect_query["code"]


async def test_consent_centre_and_customer_api_work_with_a_portal_cookie_present(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    browser = await _browser_with_portal_cookie(app)
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    first = await authorised_consent(app, tenant, "ph_csrf", customer)
    second = await authorised_consent(app, tenant, "ph_csrf", customer)
    start = await browser.get("/consent-centre/")
    signed_in = await customer_signs_in(app, browser, customer, start=start.text)
    assert signed_in.status_code == 303, signed_in.text
    centre = await browser.get("/consent-centre/")
    revoked = await browser.post(
        f"/consent-centre/consents/{first.id}/revoke", data={"_csrf": form_token(centre.text)}
    )
    assert revoked.status_code == 303, revoked.text
    assert revoked.headers["location"].endswith("revoked=1")

    customer_token = csrf_for(str(browser.cookies.get(CENTRE_COOKIE)))
    api = await browser.post(
        f"/api/v1/customer/consents/{second.id}/revoke",
        headers={"X-CSRF-Token": customer_token},
    )
    assert api.status_code == 200, api.text
    assert api.json()["status"] == "revoked"


async def test_the_customer_api_still_refuses_a_wrong_token_and_the_portal_keeps_its_own(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    browser = await _browser_with_portal_cookie(app)
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_csrf", customer)
    start = await browser.get("/consent-centre/")
    await customer_signs_in(app, browser, customer, start=start.text)
    forged = await browser.post(
        f"/api/v1/customer/consents/{consent.id}/revoke", headers={"X-CSRF-Token": "forged"}
    )
    assert forged.status_code == 403
    assert forged.json()["type"].endswith("/problems/csrf-failed")
    # Portal routes still demand the portal session's token.
    portal = await browser.post("/api/v1/oauth/clients", json={"name": "x"})
    assert portal.status_code == 403
    assert portal.json()["type"].endswith("/problems/csrf-failed")
