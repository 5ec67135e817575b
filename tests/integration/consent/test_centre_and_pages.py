"""The consent screen's marketing rule, the customer API and centre, the sandbox inbox."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from tests.builders import create_tenant, member_client
from tests.conftest import http_client
from tests.consent_builders import (
    authorised_consent,
    create_customer,
    customer_signs_in,
    form_token,
    request_consent,
)
from tests.oauth_builders import PAR_URL, REDIRECT_URI, assertion_form, create_client

from puhui.consent.models import ConsentStatus
from puhui.consent.schemas import DataItemRequest

pytestmark = pytest.mark.anyio


async def _signed_in_centre(app: Litestar, customer: object) -> tuple[httpx.AsyncClient, str]:
    browser = http_client(app)
    start = await browser.get("/consent-centre/")
    signed_in = await customer_signs_in(app, browser, customer, start=start.text)  # type: ignore[arg-type]
    assert signed_in.status_code == 303, signed_in.text
    centre = await browser.get("/consent-centre/")
    assert centre.status_code == 200
    return browser, form_token(centre.text)


async def test_the_customer_api_lists_receipts_and_revokes_with_the_csrf_token(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_centre", customer)
    assert (await client.get("/api/v1/customer/consents")).status_code == 401
    browser, csrf = await _signed_in_centre(app, customer)
    listed = await browser.get("/api/v1/customer/consents")
    assert [c["id"] for c in listed.json()] == [str(consent.id)]
    receipts = await browser.get(f"/api/v1/customer/consents/{consent.id}/receipts")
    assert [r["event"] for r in receipts.json()] == ["granted"]
    receipt_page = await browser.get(f"/consent-centre/receipts/{receipts.json()[0]['id']}")
    assert receipts.json()[0]["digest"] in receipt_page.text
    without_token = await browser.post(f"/api/v1/customer/consents/{consent.id}/revoke")
    assert without_token.status_code == 403
    revoked = await browser.post(
        f"/api/v1/customer/consents/{consent.id}/revoke", headers={"X-CSRF-Token": csrf}
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == ConsentStatus.REVOKED.value


async def test_a_customer_sees_only_their_own_consents(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    mine = await create_customer(app)
    theirs = await create_customer(app)
    other = await authorised_consent(app, tenant, "ph_other", theirs)
    browser, csrf = await _signed_in_centre(app, mine)
    assert (await browser.get("/api/v1/customer/consents")).json() == []
    response = await browser.post(
        f"/api/v1/customer/consents/{other.id}/revoke", headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 404
    page = await browser.post(f"/consent-centre/consents/{other.id}/revoke", data={"_csrf": csrf})
    assert page.status_code == 404


async def test_marketing_is_never_pre_ticked_and_needs_the_customers_own_tick(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    registered = await create_client(
        app, tenant, grant_types=("authorization_code",), scopes=("accounts.read",)
    )
    customer = await create_customer(app)
    consent = await request_consent(
        app,
        tenant,
        registered.client_id,
        customer.enterprise.uscc,
        purposes=("marketing",),
        data_items=(DataItemRequest(source="bank", items=["account_balances"]),),
    )
    pushed = await client.post(
        PAR_URL,
        data={
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "accounts.read",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "consent_id": str(consent.id),
            **assertion_form(registered),
        },
    )
    assert pushed.status_code == 201, pushed.text
    browser = http_client(app)
    start = await browser.get(
        "/oauth/authorize",
        params={"client_id": registered.client_id, "request_uri": pushed.json()["request_uri"]},
    )
    review = await customer_signs_in(app, browser, customer, start=start.text)
    checkbox = re.search(r'<input type="checkbox" name="marketing"[^>]*>', review.text)
    assert checkbox is not None
    assert "checked" not in checkbox.group(0)
    untick = await browser.post(
        "/oauth/authorize/decision", data={"decision": "grant", "_csrf": form_token(review.text)}
    )
    assert untick.status_code == 422
    ticked = await browser.post(
        "/oauth/authorize/decision",
        data={"decision": "grant", "marketing": "yes", "_csrf": form_token(review.text)},
    )
    assert ticked.status_code == 303
    assert "code=" in ticked.headers["location"]


async def test_forms_without_the_double_submit_token_are_refused(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    customer = await create_customer(app)
    browser = http_client(app)
    await browser.get("/consent-centre/")
    forged = await browser.post(
        "/consent-centre/login",
        data={"phone": customer.phone, "password": customer.password, "_csrf": "forged"},
    )
    assert forged.status_code == 403


async def test_the_sandbox_inbox_shows_codes_to_portal_members_only(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    customer = await create_customer(app)
    await _signed_in_centre(app, customer)
    assert (await client.get("/sandbox/inbox")).status_code == 401
    member, _tenant, _member = await member_client(app)
    inbox = await member.get("/sandbox/inbox")
    assert inbox.status_code == 200
    assert customer.phone not in inbox.text  # masked
    assert customer.phone[-4:] in inbox.text


async def test_a_customer_narrows_a_consent_and_gets_an_amendment_receipt(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app)
    customer = await create_customer(app)
    consent = await authorised_consent(app, tenant, "ph_amend", customer)
    browser, csrf = await _signed_in_centre(app, customer)
    url = f"/api/v1/customer/consents/{consent.id}"
    widen = await browser.patch(
        url,
        json={"data_items": [{"source": "tax", "items": ["vat_returns", "tax_arrears"]}]},
        headers={"X-CSRF-Token": csrf},
    )
    assert widen.status_code == 422  # an amendment never adds what was not granted
    narrowed = await browser.patch(
        url,
        json={"data_items": [{"source": "tax", "items": ["vat_returns"]}]},
        headers={"X-CSRF-Token": csrf},
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["status"] == "authorised"
    assert [e["source"] for e in narrowed.json()["data_items"]] == ["tax"]  # payroll withdrawn
    receipts = await browser.get(f"{url}/receipts")
    assert [r["event"] for r in receipts.json()] == ["granted", "amended"]
