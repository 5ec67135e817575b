"""In a real browser: a partner signs up, verifies through the sandbox inbox, registers an app,
calls the sandbox from "try it", passes the cooperation review and gets production approved by
an operator. Screenshots of each main page go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser, expect
from tests.e2e.conftest import new_page, shot, sign_in
from tests.portal_builders import PARTNER_PASSWORD, new_uscc

from puhui.onboarding.schemas import COMPLIANCE_CHECKLIST, RISK_CHECKLIST
from puhui.seed import SANDBOX_PASSWORD


def public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def review(
    browser: Browser,
    base: str,
    email: str,
    org: str,
    stage: str,
    items: tuple[str, ...],
    shots: Path | None,
) -> None:
    staff = new_page(browser, base)
    sign_in(staff, email, SANDBOX_PASSWORD)
    expect(staff).to_have_url(re.compile(r"/console$"))
    staff.get_by_role("link", name="Partners", exact=True).first.click()
    staff.get_by_role("link", name=org).click()
    form = staff.locator(f"#review-{stage}")
    for item in items:
        form.locator(f'input[name="checked"][value="{item}"]').check()
    form.get_by_label("Comment").fill(f"{stage} review passed in the browser test")
    if shots:
        shot(staff, shots, "console-partner-review")
    form.get_by_role("button", name="Record the decision").click()
    expect(staff.locator(f"#review-{stage}")).to_have_count(0)
    staff.context.close()


def test_partner_from_sign_up_to_an_approved_production_app(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    base = live_server
    email = f"owner-{secrets.token_hex(4)}@e2e.example"
    org = f"E2E Procurement {secrets.token_hex(3)}"
    page = new_page(browser, base)

    # 1. sign-up
    page.goto("/")
    shot(page, screenshots, "landing")
    page.get_by_role("link", name="Partner sign-up").first.click()
    page.get_by_label("Organisation name").fill(org)
    page.get_by_label("Unified social credit code").fill(new_uscc())
    page.get_by_label("Scenario").select_option("procurement")
    page.get_by_label("Contact name").fill("Chen Jing")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mobile number").fill("13800138000")
    page.get_by_label("Password").fill(PARTNER_PASSWORD)
    shot(page, screenshots, "sign-up")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Verify your e-mail")).to_be_visible()

    # 2. verification through the sandbox inbox
    page.get_by_role("link", name="Open the sandbox inbox").click()
    shot(page, screenshots, "sandbox-inbox")
    page.get_by_role("link", name="Open the link").first.click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="E-mail verified")).to_be_visible()
    sandbox_client = page.locator("#sandbox-client-id").inner_text()
    assert sandbox_client.startswith("ph_")
    shot(page, screenshots, "verified-sandbox-credentials")

    # 3. sign in, register an app with an uploaded public key
    sign_in(page, email, PARTNER_PASSWORD)
    expect(page.get_by_role("heading", name=org)).to_be_visible()
    shot(page, screenshots, "dashboard")
    page.get_by_role("link", name="Apps and keys").first.click()
    page.get_by_role("link", name="Register an app").click()
    page.get_by_label("Name").fill("Supplier loans")
    page.locator('input[name="auth_method"][value="private_key_jwt"]').check()
    page.get_by_label("Upload a public key").fill(public_pem())
    page.get_by_label("IP allow-list").fill("127.0.0.1/32")
    shot(page, screenshots, "app-register")
    page.get_by_role("button", name="Register an app").click()
    expect(page.get_by_role("heading", name="Supplier loans")).to_be_visible()
    app_url = page.url
    shot(page, screenshots, "app")

    # 4. a sandbox call from "try it" (htmx swaps the result in; no token reaches the page)
    page.get_by_role("link", name="Try it").first.click()
    option = page.locator("#operation option", has_text="GetOAuthCaller")
    page.get_by_label("Operation").select_option(option.first.get_attribute("value"))
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#try-status")).to_have_text("200")
    expect(page.locator("#try-body")).to_contain_text(sandbox_client)
    assert "eyJ" not in page.content()  # no JWT in the page
    shot(page, screenshots, "try-it")

    # 5. the API reference shows ids and levels; logs and traffic pages render
    page.get_by_role("link", name="API reference").first.click()
    expect(page.get_by_text("OPPHBANK").first).to_be_visible()
    shot(page, screenshots, "api-reference")
    page.get_by_role("link", name="Request logs").first.click()
    shot(page, screenshots, "request-logs")
    page.get_by_role("link", name="Traffic").first.click()
    expect(page.locator("svg.chart").first).to_be_visible()
    shot(page, screenshots, "traffic")

    # 6. the sandbox client's secret is rotated: the new one is shown once, the old one kept
    #    for the overlap window, and neither appears on the app's page afterwards
    page.get_by_role("link", name="Apps and keys").first.click()
    page.locator("tr", has_text=sandbox_client).get_by_role("link").first.click()
    page.get_by_role("button", name=re.compile("Rotate")).click()
    secret = page.locator("#client-secret").inner_text()
    assert secret.startswith("phs_")
    expect(page.locator("time")).to_be_visible()
    shot(page, screenshots, "secret-rotated")
    page.get_by_role("link", name="I have saved it").click()
    expect(page.get_by_text("Previous secret valid until")).to_be_visible()
    assert secret not in page.content()

    # 7. cooperation terms, the bank's two reviews, the agreement accepted
    page.get_by_role("link", name="Cooperation").first.click()
    page.get_by_label("Technical plan").fill("REST over mutual TLS, keys in an HSM, DPoP tokens.")
    page.get_by_label("Data retention terms").fill("Scenario data kept 24 months, then deleted.")
    page.get_by_label("Liability terms").fill("Each side bears losses from its own breach.")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#case-status")).to_have_text("Under review")
    review(browser, base, "risk@puhui.bank", org, "risk", RISK_CHECKLIST, screenshots)
    review(browser, base, "operator@puhui.bank", org, "compliance", COMPLIANCE_CHECKLIST, None)
    page.reload()
    expect(page.locator("#agreement-hash")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    shot(page, screenshots, "cooperation-agreement")
    page.get_by_role("button", name="Accept the agreement").click()
    expect(page.locator("#case-status")).to_have_text("In force")

    # 8. production request for the app, approved by an operator
    page.goto(app_url)
    page.get_by_label("Justification").fill("Rolling out to 40,000 suppliers of the platform.")
    page.get_by_label("Expected monthly calls").fill("50000")
    page.get_by_role("button", name="Request production access").click()
    expect(page.locator("#app-status")).to_have_text("Production requested")
    operator = new_page(browser, base)
    sign_in(operator, "operator@puhui.bank", SANDBOX_PASSWORD)
    operator.get_by_role("link", name="Production access").first.click()
    request = operator.locator("article", has_text=org)
    request.get_by_label("Reason").fill("Agreement in force; keys and IP rule verified.")
    shot(operator, screenshots, "console-production")
    request.get_by_role("button", name="Approve").click()
    expect(operator.locator("article", has_text=org).get_by_text("Approved")).to_be_visible()
    operator.get_by_role("link", name="Audit log").first.click()
    expect(operator.locator("#chain-verdict").first).to_be_visible()
    shot(operator, screenshots, "console-audit")
    operator.context.close()

    page.reload()
    expect(page.locator("#app-environment")).to_have_text("Production")
    shot(page, screenshots, "app-production")


def test_keyboard_users_can_skip_to_the_content(browser: Browser, live_server: str) -> None:
    page = new_page(browser, live_server)
    page.goto("/portal/sign-in")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail")).to_be_focused()
    # the language switch is a real button: reachable and usable from the keyboard
    switch = page.get_by_role("button", name="中文")
    switch.focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_label("电子邮箱")).to_be_visible()
    page.context.close()
