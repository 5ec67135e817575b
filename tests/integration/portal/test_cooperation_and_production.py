"""The cooperation workflow (JR/T 0269 7.3.2 a) end to end through the pages, production access,
and that every step leaves an audit record."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from sqlalchemy import select
from tests.portal_builders import SignedUp, bank_staff, csrf_of, sign_up_partner, submit

from puhui.audit.models import AuditRecord
from puhui.db.session import tenant_bypass
from puhui.onboarding.schemas import COMPLIANCE_CHECKLIST, RISK_CHECKLIST
from puhui.tenancy.models import Tenant, TenantStatus

pytestmark = pytest.mark.anyio

TERMS = {
    "technical_plan": "REST integration over mutual TLS; keys in an HSM; DPoP-bound tokens.",
    "data_retention_terms": "Scenario data kept 24 months, then deleted with a deletion log.",
    "liability_terms": "Each party bears losses caused by its own breach; partner never lends.",
}


def public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def tenant_of(app: Litestar, partner: SignedUp) -> Tenant:
    async with app.state.db.unit_of_work() as session:
        row = (
            await session.execute(select(Tenant).where(Tenant.uscc == partner.uscc))
        ).scalar_one()
    return row


async def actions_for(app: Litestar, tenant_id: uuid.UUID) -> list[str]:
    async with app.state.db.unit_of_work() as session:
        with tenant_bypass(session, reason="test.audit"):
            rows = await session.execute(
                select(AuditRecord.action)
                .where(
                    (AuditRecord.target_tenant_id == tenant_id)
                    | (AuditRecord.actor_tenant_id == tenant_id)
                )
                .order_by(AuditRecord.day, AuditRecord.seq)  # the hash chain's own order
            )
    return [r[0] for r in rows]


async def approve_both_stages(app: Litestar, tenant: Tenant) -> None:
    risk, _, _ = await bank_staff(app, ("risk_officer",))
    page = f"/console/partners/{tenant.id}"
    decided = await submit(
        risk,
        page,
        f"{page}/review",
        {"stage": "risk", "decision": "approve", "checked": list(RISK_CHECKLIST), "comment": ""},
    )
    assert decided.status_code == 303, decided.text[:400]
    operator, _, _ = await bank_staff(app, ("operator",))
    decided = await submit(
        operator,
        page,
        f"{page}/review",
        {
            "stage": "compliance",
            "decision": "approve",
            "checked": list(COMPLIANCE_CHECKLIST),
            "comment": "ok",
        },
    )
    assert decided.status_code == 303, decided.text[:400]


async def test_cooperation_from_submission_to_an_active_tenant(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    tenant = await tenant_of(app, partner)
    submitted = await submit(
        partner.client, "/portal/cooperation", "/portal/cooperation", {**TERMS, "action": "submit"}
    )
    assert submitted.status_code == 303
    # an operator cannot decide the risk stage without ticking the whole checklist
    risk, _, _ = await bank_staff(app, ("risk_officer",))
    page = f"/console/partners/{tenant.id}"
    partial = await submit(
        risk,
        page,
        f"{page}/review",
        {"stage": "risk", "decision": "approve", "checked": [RISK_CHECKLIST[0]], "comment": ""},
    )
    assert partial.status_code == 422
    assert 'id="checked-error"' in partial.text
    # the risk officer may not decide the compliance stage
    wrong_stage = await submit(
        risk,
        page,
        f"{page}/review",
        {
            "stage": "compliance",
            "decision": "approve",
            "checked": list(COMPLIANCE_CHECKLIST),
            "comment": "",
        },
    )
    assert wrong_stage.status_code == 403
    await approve_both_stages(app, tenant)
    # the agreement is generated, but the tenant stays pending until the owner accepts it
    assert (await tenant_of(app, partner)).status is TenantStatus.PENDING
    case_page = await partner.client.get("/portal/cooperation")
    digest = re.search(r'id="agreement-hash">([0-9a-f]{64})<', case_page.text)
    assert digest
    # nor can an operator activate it around the agreement
    operator, _, _ = await bank_staff(app, ("operator",))
    shortcut = await operator.post(
        f"/api/v1/operator/tenants/{tenant.id}/activate",
        json={"reason": "skip the agreement"},
        headers={"x-csrf-token": csrf_of((await operator.get("/console")).text)},
    )
    assert shortcut.status_code == 409, shortcut.text
    assert (await tenant_of(app, partner)).status is TenantStatus.PENDING
    assert partner.organisation in case_page.text
    stale = await submit(
        partner.client,
        "/portal/cooperation",
        "/portal/cooperation/accept",
        {"agreement_sha256": "0" * 64},
    )
    assert stale.status_code == 409
    accepted = await submit(
        partner.client,
        "/portal/cooperation",
        "/portal/cooperation/accept",
        {"agreement_sha256": digest.group(1)},
    )
    assert accepted.status_code == 303
    assert (await tenant_of(app, partner)).status is TenantStatus.ACTIVE
    actions = await actions_for(app, tenant.id)
    steps = [
        "onboarding.signed_up",
        "onboarding.email_verified",
        "cooperation.submitted",
        "operator.cooperation_risk_approve",
        "operator.cooperation_compliance_approve",
        "cooperation.agreement_generated",
        "cooperation.agreement_accepted",
        "tenant.activated",
    ]
    for expected in steps:
        assert expected in actions, expected
    # each step audited, in the workflow's order: generated -> accepted -> active
    assert [a for a in actions if a in steps] == steps


async def test_a_refusal_suspends_the_pending_partner(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    tenant = await tenant_of(app, partner)
    await submit(
        partner.client, "/portal/cooperation", "/portal/cooperation", {**TERMS, "action": "submit"}
    )
    operator, _, _ = await bank_staff(app, ("operator",))
    page = f"/console/partners/{tenant.id}"
    refused = await submit(
        operator,
        page,
        f"{page}/review",
        {"stage": "compliance", "decision": "reject", "comment": "Retention period unlawful."},
    )
    assert refused.status_code == 303
    assert (await tenant_of(app, partner)).status is TenantStatus.SUSPENDED
    comments = await operator.get(page)
    assert "Retention period unlawful." in comments.text


async def test_changes_requested_reopens_the_terms(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    tenant = await tenant_of(app, partner)
    await submit(
        partner.client, "/portal/cooperation", "/portal/cooperation", {**TERMS, "action": "submit"}
    )
    risk, _, _ = await bank_staff(app, ("risk_officer",))
    page = f"/console/partners/{tenant.id}"
    await submit(
        risk,
        page,
        f"{page}/review",
        {"stage": "risk", "decision": "request_changes", "comment": "Name the HSM vendor."},
    )
    case_page = await partner.client.get("/portal/cooperation")
    assert 'name="technical_plan"' in case_page.text
    assert "Name the HSM vendor." in case_page.text


async def test_an_app_goes_from_registration_to_production(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    tenant = await tenant_of(app, partner)
    registered = await submit(
        partner.client,
        "/portal/apps/new",
        "/portal/apps",
        {
            "name": "Procurement loans",
            "auth_method": "private_key_jwt",
            "public_key": public_pem(),
            "grant_types": ["client_credentials"],
            "ip_allowlist": "203.0.113.0/24",
        },
    )
    assert registered.status_code == 303, registered.text[:600]
    app_page = registered.headers["location"]
    shown = await partner.client.get(app_page)
    assert "203.0.113.0/24" in shown.text
    assert "EC P-256" in shown.text
    # production needs an active partner (agreement accepted) first
    early = await submit(
        partner.client,
        app_page,
        f"{app_page}/production",
        {
            "justification": "Live rollout to our 40,000 suppliers.",
            "expected_monthly_calls": "50000",
        },
    )
    assert early.status_code == 409
    await submit(
        partner.client, "/portal/cooperation", "/portal/cooperation", {**TERMS, "action": "submit"}
    )
    await approve_both_stages(app, tenant)
    # the agreement is generated, but the tenant stays pending until the owner accepts it
    assert (await tenant_of(app, partner)).status is TenantStatus.PENDING
    case_page = await partner.client.get("/portal/cooperation")
    digest = re.search(r'id="agreement-hash">([0-9a-f]{64})<', case_page.text)
    assert digest
    # nor can an operator activate it around the agreement
    operator, _, _ = await bank_staff(app, ("operator",))
    shortcut = await operator.post(
        f"/api/v1/operator/tenants/{tenant.id}/activate",
        json={"reason": "skip the agreement"},
        headers={"x-csrf-token": csrf_of((await operator.get("/console")).text)},
    )
    assert shortcut.status_code == 409, shortcut.text
    assert (await tenant_of(app, partner)).status is TenantStatus.PENDING
    await submit(
        partner.client,
        "/portal/cooperation",
        "/portal/cooperation/accept",
        {"agreement_sha256": digest.group(1)},
    )
    asked = await submit(
        partner.client,
        app_page,
        f"{app_page}/production",
        {
            "justification": "Live rollout to our 40,000 suppliers.",
            "expected_monthly_calls": "50000",
        },
    )
    assert asked.status_code == 303
    operator, _, _ = await bank_staff(app, ("operator",))
    queue = await operator.get("/console/production")
    request_id = re.search(r'action="/console/production/([0-9a-f-]{36})"', queue.text)
    assert request_id
    assert partner.organisation in queue.text
    decided = await submit(
        operator,
        "/console/production",
        f"/console/production/{request_id.group(1)}",
        {"decision": "approve", "reason": "Agreement in force, keys verified."},
    )
    assert decided.status_code == 303
    live = await partner.client.get(app_page, headers={"accept-language": "en"})
    assert 'id="app-environment">Production<' in live.text
    actions = await actions_for(app, tenant.id)
    assert "onboarding.production_requested" in actions
    assert "operator.production_request_approved" in actions


async def test_a_secret_is_shown_once_and_rotation_keeps_the_old_one_for_the_overlap(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    registered = await submit(
        partner.client,
        "/portal/apps/new",
        "/portal/apps",
        {
            "name": "Sandbox tester",
            "auth_method": "client_secret_basic",
            "grant_types": ["client_credentials"],
        },
    )
    assert registered.status_code == 200
    first_secret = re.search(r'id="client-secret">([^<]+)<', registered.text)
    assert first_secret
    app_page = re.search(r'href="(/portal/apps/[0-9a-f-]{36})"', registered.text)
    assert app_page
    shown = await partner.client.get(app_page.group(1))
    assert first_secret.group(1) not in shown.text
    rotated = await submit(partner.client, app_page.group(1), f"{app_page.group(1)}/rotate", {})
    second_secret = re.search(r'id="client-secret">([^<]+)<', rotated.text)
    assert second_secret
    assert second_secret.group(1) != first_secret.group(1)
    assert "<time" in rotated.text  # the overlap end is stated
    revoked = await submit(partner.client, app_page.group(1), f"{app_page.group(1)}/revoke", {})
    assert revoked.status_code == 303
    assert "revoked" in (await partner.client.get(app_page.group(1))).text


async def test_app_registration_errors_are_shown_on_the_form(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await sign_up_partner(app)
    response = await submit(
        partner.client,
        "/portal/apps/new",
        "/portal/apps",
        {
            "name": "No keys",
            "auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"],
        },
    )
    assert response.status_code == 422
    assert 'id="public_key-error"' in response.text
    bad_cidr = await submit(
        partner.client,
        "/portal/apps/new",
        "/portal/apps",
        {"name": "Bad IPs", "auth_method": "client_secret_basic", "ip_allowlist": "not-an-ip"},
    )
    assert bad_cidr.status_code == 422
    assert 'id="ip_allowlist-error"' in bad_cidr.text
