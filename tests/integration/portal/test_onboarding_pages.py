"""Sign-up through verification, sign-in and sign-out, CSRF on anonymous forms, role checks."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from tests.builders import member_client
from tests.conftest import http_client
from tests.portal_builders import (
    PARTNER_PASSWORD,
    bank_staff,
    csrf_of,
    new_uscc,
    sign_in_as,
    sign_up_partner,
    submit,
)

pytestmark = pytest.mark.anyio


async def test_a_partner_signs_up_verifies_and_lands_on_a_pending_dashboard(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    assert partner.client_id.startswith("ph_")
    assert partner.client_secret.startswith("phs_")
    dashboard = await partner.client.get("/portal")
    assert dashboard.status_code == 200
    assert partner.organisation in dashboard.text
    assert "待审核" in dashboard.text or "Pending" in dashboard.text
    apps = await partner.client.get("/portal/apps", headers={"accept-language": "en"})
    assert partner.client_id in apps.text
    assert partner.client_secret not in apps.text  # shown once, never again


async def test_an_unverified_owner_cannot_sign_in(app: Litestar, client: httpx.AsyncClient) -> None:
    browser = http_client(app)
    email = "unverified-" + new_uscc().lower() + "@partner.example"
    await submit(
        browser,
        "/portal/sign-up",
        "/portal/sign-up",
        {
            "organisation": "Unverified Ltd",
            "uscc": new_uscc(),
            "kind": "channel_app",
            "scenario_type": "tax",
            "contact_name": "Li Si",
            "email": email,
            "phone": "13912345678",
            "password": PARTNER_PASSWORD,
        },
    )
    response = await submit(
        browser,
        "/portal/sign-in",
        "/portal/sign-in",
        {"email": email, "password": PARTNER_PASSWORD},
    )
    assert response.status_code == 401
    assert "puhui_session" not in response.cookies


async def test_sign_up_rejects_a_wrong_check_character_and_keeps_the_values(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    uscc = new_uscc()
    wrong = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    response = await submit(
        client,
        "/portal/sign-up",
        "/portal/sign-up",
        {
            "organisation": "Typo Trading Co",
            "uscc": wrong,
            "kind": "scenario_provider",
            "scenario_type": "payroll",
            "contact_name": "Wang Wu",
            "email": "typo@partner.example",
            "phone": "13712345678",
            "password": "short",
        },
    )
    assert response.status_code == 422
    assert 'id="uscc-error"' in response.text
    assert 'id="password-error"' in response.text
    assert 'value="Typo Trading Co"' in response.text
    assert 'aria-invalid="true"' in response.text


async def test_anonymous_forms_need_the_double_submit_token(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await client.get("/portal/sign-in")  # sets the cookie
    forged = await client.post(
        "/portal/sign-in",
        data={"_csrf": "forged-value-123456789012", "email": "a@b.cn", "password": "x"},
    )
    assert forged.status_code == 403
    fresh = http_client(app)  # no cookie at all (a cross-site form)
    page = (await client.get("/portal/sign-in")).text
    cross_site = await fresh.post(
        "/portal/sign-in", data={"_csrf": csrf_of(page), "email": "a@b.cn", "password": "x"}
    )
    assert cross_site.status_code == 403


async def test_signed_in_forms_need_the_session_token(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    response = await partner.client.post("/portal/team/invitations", data={"email": "x@y.cn"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]


async def test_sign_out_ends_the_session(app: Litestar, client: httpx.AsyncClient) -> None:
    partner = await sign_up_partner(app)
    response = await submit(partner.client, "/portal", "/portal/sign-out", {})
    assert response.status_code == 303
    again = await partner.client.get("/portal")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/portal/sign-in")


async def test_pages_check_roles_and_audience(app: Litestar, client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/portal/apps")
    assert anonymous.status_code == 303
    viewer, _, _ = await member_client(app, ("viewer",))
    assert (await viewer.get("/portal/apps")).status_code == 200
    assert (await viewer.get("/portal/apps/new")).status_code == 403
    assert (await viewer.get("/console")).status_code == 403
    denied = await viewer.get("/portal/try-it")
    assert denied.status_code == 403
    assert "<h1>" in denied.text
    operator, _, _ = await bank_staff(app, ("operator",))
    assert (await operator.get("/console")).status_code == 200
    assert (await operator.get("/portal/apps")).status_code == 403
    risk, _, _ = await bank_staff(app, ("risk_officer",))
    assert (await risk.get("/console/production")).status_code == 403
    assert (await risk.get("/console/credit-reviews")).status_code == 200


async def test_bank_staff_land_on_the_console(app: Litestar, client: httpx.AsyncClient) -> None:
    operator, _, member = await bank_staff(app)
    browser = http_client(app)
    from tests.builders import PASSWORD

    response = await sign_in_as(browser, member.email, PASSWORD)
    assert response.headers["location"] == "/console"
    home = await operator.get("/")
    assert home.status_code == 303
    assert home.headers["location"] == "/console"


async def test_the_sign_in_page_does_not_redirect_elsewhere(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app, sign_in=False)
    response = await submit(
        partner.client,
        "/portal/sign-in?next=//evil.example/x",
        "/portal/sign-in",
        {"email": partner.email, "password": PARTNER_PASSWORD, "next": "//evil.example/x"},
    )
    assert response.headers["location"] == "/portal"
    assert re.search(r"puhui_session=", response.headers["set-cookie"])
