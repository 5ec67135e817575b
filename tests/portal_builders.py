"""Builders for portal tests: browser-like form posts (CSRF from the page), a signed-up partner,
and bank staff sessions."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import select

from puhui.db.session import tenant_bypass
from puhui.onboarding.uscc import USCC_ALPHABET, uscc_check_character
from puhui.risk.models import ReviewCase
from puhui.tenancy.models import Member, Tenant, TenantKind
from tests.builders import PASSWORD, create_member, create_tenant
from tests.conftest import http_client
from tests.lending_builders import (
    HEALTHY,
    application_body,
    consented_caller,
    create_products,
    store_features,
)
from tests.lending_builders import new_uscc as lending_uscc

_CSRF = re.compile(r'name="_csrf" value="([^"]*)"')
_LINK = re.compile(r'href="(https?://[^"]+/portal/(?:verify|invitations/accept)\?token=[^"]+)"')
PARTNER_PASSWORD = "Partner-Pass-2026x"


def new_uscc() -> str:
    body = "9131" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(13))
    return body + uscc_check_character(body)


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def submit(
    client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    """Load the page (for its CSRF token, and cookie when anonymous), then post the form."""
    shown = await client.get(page_url)
    assert shown.status_code == 200, (page_url, shown.status_code, shown.text[:300])
    return await client.post(action, data={"_csrf": csrf_of(shown.text), **data})


def link_in(page: str) -> str:
    match = _LINK.search(page)
    assert match, "no link in the inbox"
    return html.unescape(match.group(1))


@dataclass
class SignedUp:
    client: httpx.AsyncClient
    email: str
    uscc: str
    organisation: str
    client_id: str
    client_secret: str


async def sign_up_partner(app: Litestar, *, sign_in: bool = True) -> SignedUp:
    """A partner through the real pages: sign-up, inbox, verification, sign-in."""
    client = http_client(app)
    email = f"owner-{secrets.token_hex(4)}@partner.example"
    uscc = new_uscc()
    organisation = f"Partner {secrets.token_hex(3)}"
    response = await submit(
        client,
        "/portal/sign-up",
        "/portal/sign-up",
        {
            "organisation": organisation,
            "uscc": uscc,
            "kind": "scenario_provider",
            "scenario_type": "procurement",
            "contact_name": "Zhang San",
            "email": email,
            "phone": "13812345678",
            "password": PARTNER_PASSWORD,
        },
    )
    assert response.status_code == 200, response.text[:500]
    inbox = await client.get("/portal/sandbox/inbox", params={"email": email})
    link = link_in(inbox.text).split("/portal/", 1)[1]
    verify_page = f"/portal/{link}"
    token = link.split("token=", 1)[1]
    verified = await submit(client, verify_page, "/portal/verify", {"token": token})
    assert verified.status_code == 200, verified.text[:500]
    client_id = re.search(r'id="sandbox-client-id">([^<]+)<', verified.text)
    secret = re.search(r'id="sandbox-client-secret">([^<]+)<', verified.text)
    assert client_id
    assert secret
    if sign_in:
        await sign_in_as(client, email, PARTNER_PASSWORD)
    return SignedUp(client, email, uscc, organisation, client_id.group(1), secret.group(1))


async def sign_in_as(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    response = await submit(
        client, "/portal/sign-in", "/portal/sign-in", {"email": email, "password": password}
    )
    assert response.status_code == 303, response.text[:500]
    return response


async def bank_staff(
    app: Litestar, roles: tuple[str, ...] = ("operator",)
) -> tuple[httpx.AsyncClient, Tenant, Member]:
    """A signed-in bank staff member (portal pages) of a bank tenant."""
    tenant = await create_tenant(app, kind=TenantKind.BANK)
    member = await create_member(app, tenant, roles)
    client = http_client(app)
    await sign_in_as(client, member.email, PASSWORD)
    return client, tenant, member


# Revenue large enough that the assessed limit passes the auto-approval ceiling: a manual review.
_REFERRED = {**HEALTHY, "tax.declared_revenue_12m_fen": 30_000_000_00}


async def referred_credit_case(app: Litestar) -> str:
    """A credit application a partner submits through the API that the decision engine routes
    to the manual review queue; returns the application id (the queue shows it). Needs the
    baseline rule set and a scorecard: the sandbox seed or ``lending_ready(app)``."""
    tenant = await create_tenant(app)
    products = await create_products(app, [tenant.code])
    uscc = lending_uscc()
    await store_features(app, uscc, _REFERRED)
    partner = await consented_caller(app, tenant, uscc)
    tax = next(p for p in products if p.code.endswith("TAX-LOAN"))
    created = await partner.post(
        "/api/v1/applications",
        json=application_body(uscc, tax, amount_fen=800_000_00),
        headers={"Idempotency-Key": f"k-{uuid.uuid4()}"},
    )
    assert created.status_code == 201, created.text
    submitted = await partner.post(f"/api/v1/applications/{created.json()['id']}/submit")
    assert submitted.json()["status"] == "manual_review", submitted.text
    return str(created.json()["id"])


async def review_case_of(app: Litestar, application_id: str) -> ReviewCase:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.review_case"):
            row = (
                await session.execute(
                    select(ReviewCase).where(ReviewCase.application_id == uuid.UUID(application_id))
                )
            ).scalar_one()
    assert isinstance(row, ReviewCase)
    return row
