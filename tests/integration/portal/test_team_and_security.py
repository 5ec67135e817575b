"""Team invitations with roles, and the optional TOTP second factor at sign-in."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from tests.conftest import http_client
from tests.portal_builders import PARTNER_PASSWORD, sign_in_as, sign_up_partner, submit

from puhui.onboarding.totp import totp_at

pytestmark = pytest.mark.anyio


async def test_an_invited_developer_joins_the_team_with_that_role(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    owner = await sign_up_partner(app)
    invited = await submit(
        owner.client,
        "/portal/team",
        "/portal/team/invitations",
        {"email": "dev@partner-team.example", "roles": ["developer"]},
    )
    assert invited.status_code == 201
    link = re.search(
        r'id="invitation-link"|href="([^"]+invitations/accept\?token=[^"]+)"', invited.text
    )
    inbox = await owner.client.get(
        "/portal/sandbox/inbox", params={"email": "dev@partner-team.example"}
    )
    accept = re.search(
        r'href="https?://[^"]+(/portal/invitations/accept\?token=[^"]+)"', inbox.text
    )
    assert link
    assert accept
    newcomer = http_client(app)
    accept_url = accept.group(1).replace("&amp;", "&")
    token = accept_url.split("token=", 1)[1]
    joined = await submit(
        newcomer,
        accept_url,
        "/portal/invitations/accept",
        {"token": token, "display_name": "Dev One", "password": "Dev-Password-2026"},
    )
    assert joined.status_code == 303
    await sign_in_as(newcomer, "dev@partner-team.example", "Dev-Password-2026")
    assert (await newcomer.get("/portal/apps/new")).status_code == 200  # developer may build
    assert (await newcomer.get("/portal/team")).status_code == 200
    refused = await submit(
        newcomer,
        "/portal/team",
        "/portal/team/invitations",
        {"email": "x@partner-team.example", "roles": ["owner"]},
    )
    assert refused.status_code == 403
    # the link is single use
    again = await newcomer.get(accept_url)
    assert again.status_code == 404


async def test_only_an_owner_invites_an_owner(app: Litestar, client: httpx.AsyncClient) -> None:
    owner = await sign_up_partner(app)
    bad = await submit(
        owner.client,
        "/portal/team",
        "/portal/team/invitations",
        {"email": "not-an-email", "roles": ["developer"]},
    )
    assert bad.status_code == 422
    assert 'id="email-error"' in bad.text


async def test_totp_enrolment_then_sign_in_asks_for_the_code(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    started = await submit(
        partner.client, "/portal/security", "/portal/security/totp", {"action": "start"}
    )
    assert started.status_code == 303
    page = await partner.client.get("/portal/security")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret
    wrong = await submit(
        partner.client,
        "/portal/security",
        "/portal/security/totp",
        {
            "action": "confirm",
            "code": "000000" if totp_at(secret.group(1)) != "000000" else "111111",
        },
    )
    assert wrong.status_code == 422
    confirmed = await submit(
        partner.client,
        "/portal/security",
        "/portal/security/totp",
        {"action": "confirm", "code": totp_at(secret.group(1))},
    )
    assert confirmed.status_code == 303
    assert 'id="totp-secret"' not in (await partner.client.get("/portal/security")).text

    browser = http_client(app)
    password_ok = await sign_in_as(browser, partner.email, PARTNER_PASSWORD)
    assert password_ok.headers["location"].startswith("/portal/sign-in/code")
    assert "puhui_session" not in password_ok.headers.get("set-cookie", "").split("puhui_2fa")[0]
    assert (await browser.get("/portal")).status_code == 303  # no session yet
    code_page = password_ok.headers["location"]
    bad = await submit(browser, code_page, "/portal/sign-in/code", {"code": "12345x"})
    assert bad.status_code == 422
    good = await submit(
        browser, code_page, "/portal/sign-in/code", {"code": totp_at(secret.group(1))}
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/portal"
    assert (await browser.get("/portal")).status_code == 200
